// Package verify runs BPF ELF objects through the running kernel's
// verifier, program by program, and reports what the verifier said of
// each: pass or fail, instructions processed, verification time, stack
// depth, complexity against the kernel's limits, and on failure the tail
// of the verifier's log with the failing instruction. It loads any object
// cilium/ebpf can read, not only vigil's own: maps are created unpinned,
// CO-RE and BTF relocations are applied as cilium/ebpf does, and every
// program loads on its own with only the maps it uses, so one rejection
// hides nothing else. Nothing is attached and nothing stays loaded.
//
// It is the engine of `vigil verify`, the CI gate for BPF bytecode; a
// baseline (Compare) turns growth in instructions processed into a failure.
package verify

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// The kernel's limits a program is measured against.
const (
	// ComplexityLimit is BPF_COMPLEXITY_LIMIT_INSNS: the verifier gives
	// up past this many processed instructions (privileged loads).
	ComplexityLimit = 1_000_000
	// UnprivilegedInsns is BPF_MAXINSNS: the most instructions a program
	// loaded without CAP_BPF may have.
	UnprivilegedInsns = 4096
	// StackLimit is MAX_BPF_STACK, the bytes of stack a program may use.
	StackLimit = 512
)

// errENOTSUPP is the kernel's own ENOTSUPP (524), which it returns to
// user space for operations a program type does not support.
const errENOTSUPP = unix.Errno(524)

// ErrPrivilege is returned by New when this process may not load BPF
// programs: the verifier cannot be asked anything.
var ErrPrivilege = errors.New("loading BPF programs needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN)")

// Options tune how much of a failure's log is kept.
type Options struct {
	// LogLines is how many lines of the verifier's log a failure keeps
	// (default 30).
	LogLines int
	// TraceLimit is the most processed instructions for which a rejected
	// program is loaded again with the instruction-level log, to name the
	// failing instruction (default 200000). That log grows with every
	// instruction processed; past the limit the report keeps the error
	// and statistics only.
	TraceLimit int
	// Jobs is how many objects are verified at once (default: one per
	// CPU). The verifier runs in the loading thread, so objects loaded
	// together use every CPU.
	Jobs int
}

// Verifier loads objects through the running kernel's verifier.
type Verifier struct {
	opts  Options
	cache *btf.Cache
}

// New checks that this process may load programs and returns a Verifier.
func New(opts Options) (*Verifier, error) {
	if opts.LogLines <= 0 {
		opts.LogLines = 30
	}
	if opts.TraceLimit <= 0 {
		opts.TraceLimit = 200_000
	}
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.NumCPU()
	}
	if err := probePrivilege(); err != nil {
		return nil, err
	}
	return &Verifier{opts: opts, cache: btf.NewCache()}, nil
}

// probePrivilege loads the smallest tracepoint program: refused with EPERM,
// no program of the kinds vigil verifies would load either.
func probePrivilege() error {
	p, err := ebpf.NewProgramWithOptions(&ebpf.ProgramSpec{
		Type:         ebpf.TracePoint,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	}, ebpf.ProgramOptions{LogDisabled: true})
	if errors.Is(err, unix.EPERM) {
		return ErrPrivilege
	}
	if err != nil {
		return fmt.Errorf("probe program load: %w", err)
	}
	return p.Close()
}

// Objects verifies each file, Jobs at a time, the largest first so that
// no large object starts last, and returns the report in the order of
// paths, with the kernel release it was made on.
func (v *Verifier) Objects(paths []string) *Report {
	r := &Report{Kernel: kernelRelease(), Objects: make([]Object, len(paths))}
	order := make([]int, len(paths))
	size := make([]int64, len(paths))
	for i, p := range paths {
		order[i] = i
		if st, err := os.Stat(p); err == nil {
			size[i] = st.Size()
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(size[b], size[a]) })
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(v.opts.Jobs, len(paths)) {
		wg.Go(func() {
			for i := range next {
				r.Objects[i] = v.Object(paths[i])
			}
		})
	}
	for _, i := range order {
		next <- i
	}
	close(next)
	wg.Wait()
	r.summarize()
	return r
}

// Object verifies every program of the ELF object at path. A file that
// is not a BPF object cilium/ebpf can read is reported in Object.Error.
func (v *Verifier) Object(path string) Object {
	o := Object{Path: filepath.ToSlash(filepath.Clean(path)), Programs: []Program{}}
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		o.Error = err.Error()
		return o
	}
	o.Maps = len(spec.Maps)
	standalone(spec)
	for _, name := range slices.Sorted(maps.Keys(spec.Programs)) {
		o.Programs = append(o.Programs, v.program(spec, name))
	}
	return o
}

// standalone makes spec loadable on its own: no map is pinned or reuses a
// pinned one, and no prog array or map of maps is filled at load (its
// entries name other programs and maps, which would then load with each
// program; the verifier does not look at what such a map holds).
func standalone(spec *ebpf.CollectionSpec) {
	for _, ms := range spec.Maps {
		ms.Pinning = ebpf.PinNone
		if ms.InnerMap != nil {
			ms.InnerMap.Pinning = ebpf.PinNone
		}
		switch ms.Type {
		case ebpf.ProgramArray, ebpf.ArrayOfMaps, ebpf.HashOfMaps:
			ms.Contents = nil
		}
	}
}

// program loads one program, with only the maps and global data it uses.
func (v *Verifier) program(spec *ebpf.CollectionSpec, name string) Program {
	ps := spec.Programs[name]
	p := Program{
		Name:     name,
		Section:  ps.SectionName,
		Type:     ps.Type.String(),
		AttachTo: ps.AttachTo,
		Insns:    int(ps.Instructions.Size() / asm.InstructionSize),
	}
	if ps.AttachType != ebpf.AttachNone || ps.Type == ebpf.CGroupSKB {
		p.AttachType = ps.AttachType.String()
	}
	if ps.Type == ebpf.UnspecifiedProgram {
		p.Status, p.Reason = Unsupported, ReasonSection
		p.Error = fmt.Sprintf("section %q names no program type cilium/ebpf can load", ps.SectionName)
		return p
	}
	sub := subSpec(spec, name)
	start := time.Now()
	coll, err := v.load(sub, ebpf.LogLevelStats)
	p.LoadUsec = time.Since(start).Microseconds()
	if err == nil {
		prog := coll.Programs[name]
		p.Status = Pass
		p.Stats = parseStats(splitLog(prog.VerifierLog))
		if p.Processed == 0 { // a log without the line: ask the kernel
			if info, ierr := prog.Info(); ierr == nil {
				if n, ok := info.VerifiedInstructions(); ok {
					p.Processed = int(n)
				}
			}
		}
		coll.Close()
		p.finish()
		return p
	}
	v.classify(&p, ps, sub, err)
	p.finish()
	return p
}

// load loads sub at the given log level. The log buffer starts small and
// cilium/ebpf grows it when the kernel says it was too small (ENOSPC;
// on kernels with log_true_size, straight to the size needed).
func (v *Verifier) load(sub *ebpf.CollectionSpec, level ebpf.LogLevel) (*ebpf.Collection, error) {
	return ebpf.NewCollectionWithOptions(sub, ebpf.CollectionOptions{
		Programs: ebpf.ProgramOptions{LogLevel: level},
		Cache:    v.cache,
	})
}

// subSpec is spec with program name only, and the maps and variables its
// instructions refer to.
func subSpec(spec *ebpf.CollectionSpec, name string) *ebpf.CollectionSpec {
	ps := spec.Programs[name]
	sub := &ebpf.CollectionSpec{
		Maps:      map[string]*ebpf.MapSpec{},
		Programs:  map[string]*ebpf.ProgramSpec{name: ps},
		Variables: map[string]*ebpf.VariableSpec{},
		Types:     spec.Types,
		ByteOrder: spec.ByteOrder,
	}
	for _, ins := range ps.Instructions {
		if ref := ins.Reference(); ins.IsLoadFromMap() && ref != "" && spec.Maps[ref] != nil {
			sub.Maps[ref] = spec.Maps[ref]
		}
	}
	for n, vs := range spec.Variables {
		if sub.Maps[vs.SectionName] != nil {
			sub.Variables[n] = vs
		}
	}
	return sub
}

// classify tells a rejection by the verifier from a program this kernel
// refuses to load at all and from any other load error.
func (v *Verifier) classify(p *Program, ps *ebpf.ProgramSpec, sub *ebpf.CollectionSpec, err error) {
	p.Error = err.Error()
	var verr *ebpf.VerifierError
	// said: the verifier gave a reason, beyond its statistics
	said := errors.As(err, &verr) && verifierMessage(verr.Log) != ""
	switch {
	case errors.Is(err, unix.EPERM) && !said:
		// the verifier never ran: the kernel refused the program's type
		// (here, every code-patching attach type: fentry, fexit, LSM)
		p.Status, p.Reason = Unsupported, ReasonProgramType
		p.Error = fmt.Sprintf("this kernel refuses %s programs: %s before the verifier ran (empty log)", attachName(ps), unix.ErrnoName(unix.EPERM))
		return
	case (errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, errENOTSUPP)) && !said:
		// a program the kernel loads only with what the object cannot give
		// on its own (a struct_ops program without its struct_ops map)
		p.Status, p.Reason = Unsupported, ReasonProgramType
		p.Error = fmt.Sprintf("this kernel does not load %s programs on their own: %s, no verifier message", attachName(ps), errnoName(err))
		return
	case errors.Is(err, ebpf.ErrNotSupported):
		p.Status, p.Reason = Unsupported, ReasonKernelFeature
		return
	case errors.Is(err, btf.ErrNotFound) && ps.AttachTo != "":
		p.Status, p.Reason = Unsupported, ReasonAttachTarget
		return
	case !said:
		p.Status, p.Reason = Fail, ReasonLoad
		return
	}
	p.Status, p.Reason = Fail, ReasonVerifier
	v.explain(p, sub, verr)
	if tp, missing := missingTracepoint(ps); missing {
		// written for a kernel with this tracepoint (a CO-RE relocation
		// of its record fails here): nothing to attach it to
		p.Status, p.Reason = Unsupported, ReasonAttachTarget
		p.Error = fmt.Sprintf("tracepoint %s is not in this kernel (%s)", tp, p.Error)
	}
}

// missingTracepoint reports whether a tracepoint program's tracepoint
// is absent from this kernel's tracefs (false when tracefs is not mounted:
// absence cannot be told then).
func missingTracepoint(ps *ebpf.ProgramSpec) (string, bool) {
	group, name, ok := strings.Cut(ps.AttachTo, "/")
	if ps.Type != ebpf.TracePoint || !ok {
		return "", false
	}
	for _, root := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(filepath.Join(root, "events")); err != nil {
			continue
		}
		_, err := os.Stat(filepath.Join(root, "events", group, name))
		return ps.AttachTo, errors.Is(err, os.ErrNotExist)
	}
	return "", false
}

// explain fills a rejected program's statistics, message and log tail,
// loading it again with the instruction-level log to find the failing
// instruction when that log stays within TraceLimit.
func (v *Verifier) explain(p *Program, sub *ebpf.CollectionSpec, verr *ebpf.VerifierError) {
	p.Stats = parseStats(verr.Log)
	lines := verr.Log
	if p.Processed <= v.opts.TraceLimit {
		_, err := v.load(sub, ebpf.LogLevelBranch|ebpf.LogLevelStats)
		var trace *ebpf.VerifierError
		if errors.As(err, &trace) && len(trace.Log) > 0 {
			lines = trace.Log
		}
	}
	p.FailedInsn = failedInsn(lines)
	p.LogTail = tail(lines, v.opts.LogLines)
	p.Error = errnoName(verr.Cause) + ": " + verifierMessage(lines)
}

// errnoName is the name of the errno in err's chain ("EACCES"), else
// err's text.
func errnoName(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) && unix.ErrnoName(errno) != "" {
		return unix.ErrnoName(errno)
	}
	if errors.Is(err, errENOTSUPP) {
		return "ENOTSUPP"
	}
	return err.Error()
}

// attachName is how a program kind reads in a message: "Tracing/TraceFEntry".
func attachName(ps *ebpf.ProgramSpec) string {
	if ps.AttachType == ebpf.AttachNone {
		return ps.Type.String()
	}
	return ps.Type.String() + "/" + ps.AttachType.String()
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
