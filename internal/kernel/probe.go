// Package kernel owns what vigil needs to know and set up about the running kernel: feature probes, mounts, clocks.
package kernel

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// Group sorts features the way an eBPF engineer looks for them.
type Group string

// Feature groups, in the order Probe reports them.
const (
	GroupProgramTypes Group = "program types"
	GroupAttachTypes  Group = "attach types"
	GroupHelpers      Group = "helpers"
	GroupMaps         Group = "maps"
	GroupSystem       Group = "system"
)

// Feature names, as Probe reports them and Report.Feature looks them up.
const (
	FeatureLSMProgram     = "lsm"
	FeatureXDP            = "xdp"
	FeatureTCX            = "tcx"
	FeatureCgroupSKB      = "cgroup_skb"
	FeatureTPBTF          = "tp_btf"
	FeatureCgroupMkdir    = "tp_btf/cgroup_mkdir"
	FeatureRawTP          = "raw_tp"
	FeatureTracepoint     = "tracepoint"
	FeatureFentry         = "fentry"
	FeatureLSMAttach      = "lsm/file_open"
	FeatureKprobe         = "kprobe"
	FeatureCgroupConnect4 = "cgroup/connect4"
	FeatureCgroupConnect6 = "cgroup/connect6"
	FeatureCgroupSendmsg4 = "cgroup/sendmsg4"
	FeatureCgroupSendmsg6 = "cgroup/sendmsg6"
	FeatureIterTask       = "iter/task"
	FeatureSendSignal     = "bpf_send_signal"
	FeatureRingbufDynptr  = "bpf_ringbuf_reserve_dynptr"
	FeatureLoop           = "bpf_loop"
	FeatureIterNum        = "bpf_iter_num"
	FeatureRdonlyCast     = "bpf_rdonly_cast"
	FeatureRingbuf        = "ringbuf"
	FeatureBTF            = "btf"
	FeatureBPFStats       = "bpf_stats"
	FeatureTracefs        = "tracefs"
	FeatureCgroup2        = "cgroup2"
	FeatureBPFFS          = "bpffs"
	FeatureCompatSyscalls = "compat (32-bit) syscalls"
)

// probeTimeout bounds one probe. Every probe normally takes milliseconds; the
// bound only keeps a kernel that hangs in one syscall from hanging the report.
const probeTimeout = 10 * time.Second

// Feature is what one probe found out about the running kernel.
type Feature struct {
	Name      string `json:"name"`
	Group     Group  `json:"group"`
	Available bool   `json:"available"`
	// Detail says what was proven when available, and the kernel's reason
	// when not.
	Detail string `json:"detail,omitempty"`
}

// Report is everything Probe found: the kernel, its features, and what they
// mean for each vigil capability.
type Report struct {
	Kernel       string       `json:"kernel"`
	Features     []Feature    `json:"features"`
	Capabilities []Capability `json:"capabilities"`
}

// Feature returns the named feature (see the Feature* constants).
func (r Report) Feature(name string) (Feature, bool) {
	for _, f := range r.Features {
		if f.Name == name {
			return f, true
		}
	}
	return Feature{}, false
}

// Capability returns the named capability (see the Capability* constants).
func (r Report) Capability(name string) (Capability, bool) {
	for _, c := range r.Capabilities {
		if c.Name == name {
			return c, true
		}
	}
	return Capability{}, false
}

// NotPrivilegedError means probing cannot run at all: loading programs and
// creating cgroups needs root.
type NotPrivilegedError struct {
	Euid int
}

func (e *NotPrivilegedError) Error() string {
	return fmt.Sprintf("probing the kernel needs root (euid 0), running as euid %d", e.Euid)
}

// Probe finds out what the running kernel offers by loading and attaching
// real programs, then derives each vigil capability from the results. A
// missing feature is part of the report, not an error: the error is only
// for a probe that cannot run at all (*NotPrivilegedError).
//
// Probe does not mount anything. With tracefs unmounted, classic tracepoints
// and kprobes are reported as unavailable for that reason and never tried:
// cilium/ebpf caches the tracefs location once per process, so trying them
// now would break them for the rest of the process even after a later mount.
// The agent calls EnsureMounts first, and then gets the complete picture.
func Probe(ctx context.Context) (Report, error) {
	if euid := os.Geteuid(); euid != 0 {
		return Report{}, &NotPrivilegedError{Euid: euid}
	}
	report := Report{Kernel: kernelRelease()}
	for _, p := range probes() {
		report.Features = append(report.Features, runProbe(ctx, p))
	}
	report.Capabilities = DeriveCapabilities(report.Features)
	return report, nil
}

// probe is one independent check. run returns what it proved, or why the
// feature is unavailable.
type probe struct {
	name  string
	group Group
	run   func(ctx context.Context) (string, error)
}

func probes() []probe {
	return []probe{
		{FeatureLSMProgram, GroupProgramTypes, probeLSMProgramType},
		{FeatureXDP, GroupProgramTypes, probeXDP},
		{FeatureTCX, GroupProgramTypes, probeTCX},
		{FeatureCgroupSKB, GroupProgramTypes, probeCgroupSKB},

		{FeatureTPBTF, GroupAttachTypes, probeTPBTF},
		{FeatureCgroupMkdir, GroupAttachTypes, probeCgroupMkdir},
		{FeatureRawTP, GroupAttachTypes, probeRawTP},
		{FeatureTracepoint, GroupAttachTypes, probeTracepoint},
		{FeatureFentry, GroupAttachTypes, probeFentry},
		{FeatureLSMAttach, GroupAttachTypes, probeLSMAttach},
		{FeatureKprobe, GroupAttachTypes, probeKprobe},
		{FeatureCgroupConnect4, GroupAttachTypes, probeCgroupSockAddr(ebpf.AttachCGroupInet4Connect, "connect4")},
		{FeatureCgroupConnect6, GroupAttachTypes, probeCgroupSockAddr(ebpf.AttachCGroupInet6Connect, "connect6")},
		{FeatureCgroupSendmsg4, GroupAttachTypes, probeCgroupSockAddr(ebpf.AttachCGroupUDP4Sendmsg, "sendmsg4")},
		{FeatureCgroupSendmsg6, GroupAttachTypes, probeCgroupSockAddr(ebpf.AttachCGroupUDP6Sendmsg, "sendmsg6")},
		{FeatureIterTask, GroupAttachTypes, probeIterTask},

		{FeatureSendSignal, GroupHelpers, probeHelper(asm.FnSendSignal)},
		{FeatureRingbufDynptr, GroupHelpers, probeHelper(asm.FnRingbufReserveDynptr)},
		{FeatureLoop, GroupHelpers, probeHelper(asm.FnLoop)},
		{FeatureIterNum, GroupHelpers, probeKfunc("probe_iter_num", "6.4")},
		{FeatureRdonlyCast, GroupHelpers, probeKfunc("probe_rdonly_cast", "6.2")},

		{FeatureRingbuf, GroupMaps, probeRingbuf},

		{FeatureBTF, GroupSystem, probeBTF},
		{FeatureBPFStats, GroupSystem, probeBPFStats},
		{FeatureTracefs, GroupSystem, probeFilesystem("tracefs", TraceFSPath)},
		{FeatureCgroup2, GroupSystem, probeCgroup2},
		{FeatureBPFFS, GroupSystem, probeFilesystem("bpf", BPFFSPath)},
		{FeatureCompatSyscalls, GroupSystem, probeCompatSyscalls},
	}
}

// runProbe runs p so that nothing it does can sink the other probes: a
// panic becomes an unavailable feature, and so does a probe that outlives
// probeTimeout (it is left to finish and close its descriptors on its own).
func runProbe(ctx context.Context, p probe) Feature {
	f := Feature{Name: p.name, Group: p.group}
	if err := ctx.Err(); err != nil {
		f.Detail = "not probed: " + err.Error()
		return f
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()

	type outcome struct {
		detail string
		err    error
	}
	done := make(chan outcome, 1) // buffered: a timed-out probe must not block forever
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- outcome{err: fmt.Errorf("probe panicked: %v", r)}
			}
		}()
		detail, err := p.run(ctx)
		done <- outcome{detail, err}
	}()

	select {
	case o := <-done:
		f.Available = o.err == nil
		f.Detail = o.detail
		if o.err != nil {
			f.Detail = describe(o.err)
		}
	case <-ctx.Done():
		f.Detail = "probe did not finish: " + ctx.Err().Error()
	}
	return f
}

// memlockHint is what cilium/ebpf appends to every EPERM with an empty
// verifier log. vigil runs memcg-accounted, so the hint only misleads.
const memlockHint = " (MEMLOCK may be too low, consider rlimit.RemoveMemlock)"

// describe turns a probe error into a reason a person can act on.
func describe(err error) string {
	return strings.Replace(err.Error(), memlockHint, "", 1)
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown (uname: " + err.Error() + ")"
	}
	return unix.ByteSliceToString(u.Release[:])
}
