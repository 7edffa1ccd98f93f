package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// probeProgramName is what a probe program is called in bpftool's listing,
// so that anyone who catches one mid-probe knows whose it is.
const probeProgramName = "vigil_probe"

// codePatchingHint explains an EPERM with an empty verifier log on fentry,
// fexit and LSM programs: Probe already checked for root, so what refuses is
// the host, which forbids the attach types that patch kernel text.
const codePatchingHint = " (host forbids code-patching attach types)"

// kprobePMUType exists when the kernel has the perf_kprobe PMU, i.e. when it
// was built with kprobe events.
const kprobePMUType = "/sys/bus/event_source/devices/kprobe/type"

// openTarget is a stable, always-present kernel function behind open(2), the
// target for the fentry and kprobe probes.
const openTarget = "do_sys_openat2"

// returning builds the smallest valid program: return verdict.
func returning(verdict int32) asm.Instructions {
	return asm.Instructions{
		asm.Mov.Imm(asm.R0, verdict),
		asm.Return(),
	}
}

// loadProbeProgram loads spec with the fields every probe shares filled in.
// Tracing and LSM programs are refused without a GPL-compatible license.
func loadProbeProgram(spec ebpf.ProgramSpec) (*ebpf.Program, error) {
	spec.Name = probeProgramName
	spec.License = "GPL"
	if spec.Instructions == nil {
		spec.Instructions = returning(0)
	}
	return ebpf.NewProgram(&spec)
}

func probeTPBTF(context.Context) (string, error) {
	targets := []string{"sched_process_exec", "sched_process_exit", "sched_process_fork"}
	for _, target := range targets {
		if err := attachTracingOnce(ebpf.AttachTraceRawTp, "tp_btf", target); err != nil {
			return "", err
		}
	}
	return "loaded and attached to " + strings.Join(targets, ", "), nil
}

// probeCgroupMkdir: the pod scope (internal/enforce/podscope) scopes a new
// pod's cgroup from this tracepoint.
func probeCgroupMkdir(context.Context) (string, error) {
	if err := attachTracingOnce(ebpf.AttachTraceRawTp, "tp_btf", "cgroup_mkdir"); err != nil {
		return "", err
	}
	return "loaded and attached to cgroup_mkdir", nil
}

func probeFentry(context.Context) (string, error) {
	err := attachTracingOnce(ebpf.AttachTraceFEntry, "fentry", openTarget)
	if err != nil {
		return "", withCodePatchingHint(err)
	}
	return "loaded and attached to " + openTarget, nil
}

// attachTracingOnce loads a Tracing program for target, attaches it and
// detaches it again.
func attachTracingOnce(at ebpf.AttachType, section, target string) error {
	prog, err := loadProbeProgram(ebpf.ProgramSpec{
		Type:       ebpf.Tracing,
		AttachType: at,
		AttachTo:   target,
	})
	if err != nil {
		return fmt.Errorf("%s/%s: %w", section, target, err)
	}
	defer func() { _ = prog.Close() }() // a probe: only its loading mattered
	l, err := link.AttachTracing(link.TracingOptions{Program: prog, AttachType: at})
	if err != nil {
		return fmt.Errorf("attach %s/%s: %w", section, target, err)
	}
	return l.Close()
}

func probeLSMProgramType(context.Context) (string, error) {
	if err := features.HaveProgramType(ebpf.LSM); err != nil {
		return "", withCodePatchingHint(err)
	}
	return "BPF_PROG_TYPE_LSM loads", nil
}

func probeLSMAttach(context.Context) (string, error) {
	const hook = "file_open"
	prog, err := loadProbeProgram(ebpf.ProgramSpec{
		Type:       ebpf.LSM,
		AttachType: ebpf.AttachLSMMac,
		AttachTo:   hook,
	})
	if err != nil {
		return "", withCodePatchingHint(fmt.Errorf("lsm/%s: %w", hook, err))
	}
	defer func() { _ = prog.Close() }() // a probe: only its loading mattered
	l, err := link.AttachLSM(link.LSMOptions{Program: prog})
	if err != nil {
		return "", withCodePatchingHint(fmt.Errorf("attach lsm/%s: %w", hook, err))
	}
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("detach lsm/%s: %w", hook, err)
	}
	return "loaded and attached to " + hook + " (returns 0: allows everything)", nil
}

func withCodePatchingHint(err error) error {
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("%w%s", err, codePatchingHint)
	}
	return err
}

func probeRawTP(context.Context) (string, error) {
	const target = "sys_enter"
	prog, err := loadProbeProgram(ebpf.ProgramSpec{Type: ebpf.RawTracepoint})
	if err != nil {
		return "", fmt.Errorf("raw_tp: %w", err)
	}
	defer func() { _ = prog.Close() }() // a probe: only its loading mattered
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: target, Program: prog})
	if err != nil {
		return "", fmt.Errorf("attach raw_tp/%s: %w", target, err)
	}
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("detach raw_tp/%s: %w", target, err)
	}
	return "loaded and attached to " + target, nil
}

func probeTracepoint(context.Context) (string, error) {
	const group, name = "syscalls", "sys_enter_openat"
	mounted, err := tracefsMounted()
	if err != nil {
		return "", err
	}
	if !mounted {
		return "", errors.New("tracefs is not mounted at " + TraceFSPath)
	}
	prog, err := loadProbeProgram(ebpf.ProgramSpec{Type: ebpf.TracePoint})
	if err != nil {
		return "", fmt.Errorf("tracepoint: %w", err)
	}
	defer func() { _ = prog.Close() }() // a probe: only its loading mattered
	l, err := link.Tracepoint(group, name, prog, nil)
	if err != nil {
		return "", fmt.Errorf("attach tracepoint/%s/%s: %w", group, name, err)
	}
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("detach tracepoint/%s/%s: %w", group, name, err)
	}
	return "loaded and attached to " + group + "/" + name, nil
}

func probeKprobe(context.Context) (string, error) {
	prog, err := loadProbeProgram(ebpf.ProgramSpec{Type: ebpf.Kprobe})
	if err != nil {
		return "", fmt.Errorf("kprobe: %w", err)
	}
	defer func() { _ = prog.Close() }() // a probe: only its loading mattered

	_, pmuErr := os.Stat(kprobePMUType)
	mounted, err := tracefsMounted()
	if err != nil {
		return "", err
	}
	// Without the PMU, cilium/ebpf falls back to tracefs, and an unmounted
	// tracefs would be cached as missing for the whole process (see Probe).
	if pmuErr != nil && !mounted {
		reason := "no perf_kprobe PMU (" + kprobePMUType + ") and tracefs is not mounted"
		if set, known := kernelConfigSet("CONFIG_KPROBES"); known && !set {
			reason = "kernel built without CONFIG_KPROBES (no perf_kprobe PMU)"
		}
		return "", errors.New(reason)
	}

	l, err := link.Kprobe(openTarget, prog, nil)
	if err != nil {
		err = fmt.Errorf("attach kprobe/%s: %w", openTarget, err)
		if set, known := kernelConfigSet("CONFIG_KPROBES"); known && !set {
			err = fmt.Errorf("kernel built without CONFIG_KPROBES: %w", err)
		}
		return "", err
	}
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("detach kprobe/%s: %w", openTarget, err)
	}
	return "loaded and attached to " + openTarget, nil
}

// iterTaskProgram writes one byte per task into the iterator's seq_file, so
// that reading the iterator proves the program ran once for every task.
func iterTaskProgram() asm.Instructions {
	return asm.Instructions{
		// struct bpf_iter__task { struct bpf_iter_meta *meta; struct task_struct *task; }
		asm.LoadMem(asm.R6, asm.R1, 0, asm.DWord),
		asm.LoadMem(asm.R7, asm.R1, 8, asm.DWord),
		// The last call has task == NULL: it marks the end of the walk.
		asm.JEq.Imm(asm.R7, 0, "done"),
		asm.LoadMem(asm.R1, asm.R6, 0, asm.DWord), // meta->seq
		asm.StoreImm(asm.RFP, -8, 'T', asm.Word),  // asm has no 64-bit immediate store
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -8),
		asm.Mov.Imm(asm.R3, 1),
		asm.FnSeqWrite.Call(),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("done"),
		asm.Return(),
	}
}

func probeIterTask(context.Context) (string, error) {
	prog, err := loadProbeProgram(ebpf.ProgramSpec{
		Type:         ebpf.Tracing,
		AttachType:   ebpf.AttachTraceIter,
		AttachTo:     "task",
		Instructions: iterTaskProgram(),
	})
	if err != nil {
		return "", fmt.Errorf("iter/task: %w", err)
	}
	defer func() { _ = prog.Close() }() // a probe: only its loading mattered
	it, err := link.AttachIter(link.IterOptions{Program: prog})
	if err != nil {
		return "", fmt.Errorf("attach iter/task: %w", err)
	}
	defer func() { _ = it.Close() }() // a probe
	r, err := it.Open()
	if err != nil {
		return "", fmt.Errorf("open iter/task: %w", err)
	}
	defer func() { _ = r.Close() }() // read-only
	tasks, err := io.Copy(io.Discard, r)
	if err != nil {
		return "", fmt.Errorf("read iter/task: %w", err)
	}
	if tasks == 0 {
		return "", errors.New("iter/task: the walk saw no task at all")
	}
	return fmt.Sprintf("loaded, attached and read to the end: %d tasks", tasks), nil
}
