package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// allFeatures is every feature Probe reports, all available.
func allFeatures() []Feature {
	var fs []Feature
	for _, p := range probes() {
		fs = append(fs, Feature{Name: p.name, Group: p.group, Available: true, Detail: "synthetic"})
	}
	return fs
}

// without marks the named features unavailable.
func without(fs []Feature, names ...string) []Feature {
	out := slices.Clone(fs)
	for i := range out {
		if slices.Contains(names, out[i].Name) {
			out[i].Available = false
			out[i].Detail = "synthetic: " + out[i].Name + " refused"
		}
	}
	return out
}

// thisKernel is what KERNEL.md measured on the project's VMs, with tracefs
// mounted: no code-patching attach types, no kprobes.
func thisKernel() []Feature {
	return without(allFeatures(), FeatureFentry, FeatureLSMProgram, FeatureLSMAttach, FeatureKprobe)
}

func TestDeriveCapabilities(t *testing.T) {
	tests := []struct {
		name     string
		features []Feature
		want     map[string]Status
		// detail holds substrings the capability's detail must contain,
		// absent substrings it must not.
		detail, absent map[string]string
	}{
		{
			name:     "this kernel",
			features: thisKernel(),
			want: map[string]Status{
				CapabilityProcessMonitoring: StatusFull,
				CapabilitySyscallSensors:    StatusFull,
				CapabilityExecBlocking:      StatusFull,
				CapabilityFileBlocking:      StatusDegraded,
				CapabilityNetworkDeny:       StatusFull,
				CapabilityPacketDrop:        StatusFull,
				CapabilityProcessSnapshot:   StatusFull,
				CapabilityRingBuffer:        StatusFull,
				CapabilityOverheadMetrics:   StatusFull,
				CapabilityModuleBlocking:    StatusDegraded,
				CapabilityLSMTier:           StatusUnavailable,
				CapabilityPodScopes:         StatusFull,
			},
			detail: map[string]string{
				CapabilityExecBlocking:      "kill at exec",
				CapabilityFileBlocking:      "detect and kill: SIGKILL on return from the open",
				CapabilityModuleBlocking:    "the kernel still finishes the call",
				CapabilityLSMTier:           "enforcement kills instead of refusing",
				CapabilityProcessMonitoring: "tp_btf sched_process_exec/exit/fork",
				CapabilitySyscallSensors:    "classic sys_enter_*/sys_exit_* tracepoints",
				CapabilityProcessSnapshot:   "reads /proc",
				CapabilityRingBuffer:        "bpf_ringbuf_reserve_dynptr",
			},
			// what vigil does not do: no iter/task snapshot, no raw_tp
			// programs, no fixed-size-only transport
			absent: map[string]string{
				CapabilityProcessSnapshot:   "iter/task",
				CapabilityProcessMonitoring: "raw_tp",
				CapabilitySyscallSensors:    "raw_tp",
				CapabilityRingBuffer:        "no bpf_ringbuf_reserve_dynptr",
			},
		},
		{
			name:     "this kernel before tracefs is mounted",
			features: without(thisKernel(), FeatureTracepoint),
			want: map[string]Status{
				CapabilityProcessMonitoring: StatusFull, // tp_btf needs no tracefs
				CapabilitySyscallSensors:    StatusUnavailable,
				CapabilityFileBlocking:      StatusUnavailable, // the file guard is on classic tracepoints too
				CapabilityExecBlocking:      StatusFull,
			},
			detail: map[string]string{CapabilitySyscallSensors: "tracepoint refused; vigil run mounts tracefs",
				CapabilityFileBlocking: "tracepoint refused"},
		},
		{
			name:     "without iter/task",
			features: without(thisKernel(), FeatureIterTask),
			want:     map[string]Status{CapabilityProcessSnapshot: StatusFull}, // it reads /proc anyway
		},
		{
			name:     "without raw_tp",
			features: without(thisKernel(), FeatureRawTP),
			want: map[string]Status{
				CapabilityProcessMonitoring: StatusFull,
				CapabilitySyscallSensors:    StatusFull,
			},
		},
		{
			name:     "with BPF LSM",
			features: allFeatures(),
			want: map[string]Status{
				CapabilityExecBlocking: StatusFull,
				CapabilityFileBlocking: StatusDegraded, // kill unless --lsm
				CapabilityLSMTier:      StatusFull,
			},
			detail: map[string]string{
				CapabilityExecBlocking: "with --lsm, BPF LSM bprm_check_security fails the exec with EPERM",
				CapabilityFileBlocking: "with --lsm, BPF LSM file_open fails the open with EPERM",
				CapabilityLSMTier:      "untested",
			},
		},
		{
			// the process sensor is tp_btf only, and the agent requires it
			name:     "without tp_btf",
			features: without(thisKernel(), FeatureTPBTF),
			want: map[string]Status{
				CapabilityProcessMonitoring: StatusUnavailable,
				CapabilitySyscallSensors:    StatusUnavailable,
				CapabilityProcessSnapshot:   StatusUnavailable,
			},
			detail: map[string]string{
				CapabilityProcessMonitoring: "missing: tp_btf (synthetic: tp_btf refused)",
				CapabilitySyscallSensors:    "vigil run does not start",
			},
		},
		{
			// Linux 5.8 to 5.16: a ring buffer, but no bpf_loop or dynptr
			name:     "ring buffer without dynptr or bpf_loop",
			features: without(thisKernel(), FeatureRingbufDynptr, FeatureLoop),
			want: map[string]Status{
				CapabilityRingBuffer:        StatusUnavailable,
				CapabilityProcessMonitoring: StatusUnavailable,
				CapabilitySyscallSensors:    StatusUnavailable,
				CapabilityProcessSnapshot:   StatusUnavailable,
				CapabilityOverheadMetrics:   StatusUnavailable,
			},
			detail: map[string]string{
				CapabilityRingBuffer:        "bpf_ringbuf_reserve_dynptr (Linux 5.19): synthetic",
				CapabilityProcessMonitoring: "bpf_loop (synthetic: bpf_loop refused); bpf_ringbuf_reserve_dynptr (synthetic",
			},
		},
		{
			name:     "without ringbuf",
			features: without(thisKernel(), FeatureRingbuf, FeatureRingbufDynptr),
			want: map[string]Status{
				CapabilityRingBuffer:        StatusUnavailable,
				CapabilityProcessMonitoring: StatusUnavailable,
				CapabilitySyscallSensors:    StatusUnavailable,
				CapabilityExecBlocking:      StatusFull, // the kill happens in the kernel
			},
			detail: map[string]string{CapabilityRingBuffer: "requires"},
		},
		{
			name:     "without some cgroup hooks and XDP",
			features: without(thisKernel(), FeatureCgroupSendmsg6, FeatureXDP),
			want: map[string]Status{
				CapabilityNetworkDeny: StatusUnavailable, // one collection: all six hooks or none
				CapabilityPacketDrop:  StatusDegraded,
			},
			detail: map[string]string{
				CapabilityNetworkDeny: "missing: cgroup/sendmsg6",
				CapabilityPacketDrop:  "tcx",
			},
		},
		{
			name:     "nothing probed",
			features: nil,
			want: map[string]Status{
				CapabilityProcessMonitoring: StatusUnavailable,
				CapabilitySyscallSensors:    StatusUnavailable,
				CapabilityExecBlocking:      StatusUnavailable,
				CapabilityFileBlocking:      StatusUnavailable,
				CapabilityNetworkDeny:       StatusUnavailable,
				CapabilityPacketDrop:        StatusUnavailable,
				CapabilityProcessSnapshot:   StatusUnavailable, // the agent does not start
				CapabilityRingBuffer:        StatusUnavailable,
				CapabilityOverheadMetrics:   StatusUnavailable,
				CapabilityModuleBlocking:    StatusUnavailable,
				CapabilityLSMTier:           StatusUnavailable,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report := Report{Capabilities: DeriveCapabilities(tt.features)}
			for name, want := range tt.want {
				c, ok := report.Capability(name)
				if !ok {
					t.Fatalf("capability %q missing from %+v", name, report.Capabilities)
				}
				if c.Status != want {
					t.Errorf("%s: status %s (%s), want %s", name, c.Status, c.Detail, want)
				}
			}
			for name, want := range tt.detail {
				c, _ := report.Capability(name)
				if !strings.Contains(c.Detail, want) {
					t.Errorf("%s: detail %q does not contain %q", name, c.Detail, want)
				}
			}
			for name, not := range tt.absent {
				c, _ := report.Capability(name)
				if strings.Contains(c.Detail, not) {
					t.Errorf("%s: detail %q claims %q, which vigil does not do", name, c.Detail, not)
				}
			}
		})
	}
}

func TestDeriveCapabilitiesNamesEachOnce(t *testing.T) {
	caps := DeriveCapabilities(thisKernel())
	seen := map[string]bool{}
	for _, c := range caps {
		if seen[c.Name] {
			t.Errorf("capability %q reported twice", c.Name)
		}
		seen[c.Name] = true
		if c.Detail == "" {
			t.Errorf("capability %q has no detail", c.Name)
		}
	}
	if len(caps) != 12 {
		t.Errorf("got %d capabilities, want 12", len(caps))
	}
}

func TestRunProbeIsolatesFailures(t *testing.T) {
	panicking := probe{name: "panics", group: GroupSystem, run: func(context.Context) (string, error) {
		panic("boom")
	}}
	if f := runProbe(t.Context(), panicking); f.Available || !strings.Contains(f.Detail, "panicked: boom") {
		t.Errorf("panicking probe gave %+v, want unavailable with the panic", f)
	}

	release := make(chan struct{})
	defer close(release)
	hanging := probe{name: "hangs", group: GroupSystem, run: func(context.Context) (string, error) {
		<-release
		return "", nil
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if f := runProbe(ctx, hanging); f.Available || !strings.Contains(f.Detail, "did not finish") {
		t.Errorf("hanging probe gave %+v, want unavailable because it did not finish", f)
	}

	failing := probe{name: "fails", group: GroupSystem, run: func(context.Context) (string, error) {
		return "", fmt.Errorf("load: %w%s", errors.New("operation not permitted"), memlockHint)
	}}
	if f := runProbe(t.Context(), failing); f.Detail != "load: operation not permitted" {
		t.Errorf("failing probe detail %q, want the MEMLOCK hint removed", f.Detail)
	}
}

// TestProbeThisKernel runs the real probe and checks it against what
// KERNEL.md measured on the project's VMs.
func TestProbeThisKernel(t *testing.T) {
	testenv.RequirePrivileged(t)

	root, err := cgroup2Root()
	if err != nil {
		t.Fatal(err)
	}

	report, err := Probe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range report.Features {
		t.Logf("%-15s %-28s %-5v %s", f.Group, f.Name, f.Available, f.Detail)
	}
	for _, c := range report.Capabilities {
		t.Logf("%-22s %-11s %s", c.Name, c.Status, c.Detail)
	}

	if report.Kernel == "" || strings.HasPrefix(report.Kernel, "unknown") {
		t.Errorf("kernel release %q", report.Kernel)
	}
	if len(report.Features) != len(probes()) {
		t.Errorf("got %d features, want one per probe (%d)", len(report.Features), len(probes()))
	}
	for _, name := range []string{
		FeatureTPBTF, FeatureRawTP, FeatureRingbuf, FeatureSendSignal, FeatureLoop, FeatureIterNum, FeatureRdonlyCast,
		FeatureCgroupConnect4, FeatureCgroupConnect6, FeatureCgroupSendmsg4, FeatureCgroupSendmsg6,
		FeatureCgroupSKB, FeatureXDP, FeatureTCX, FeatureIterTask, FeatureBTF, FeatureBPFStats,
		FeatureCgroup2, FeatureCgroupMkdir,
	} {
		if f, _ := report.Feature(name); !f.Available {
			t.Errorf("%s: unavailable (%s), this kernel has it", name, f.Detail)
		}
	}
	const codePatching = "operation not permitted (host forbids code-patching attach types)"
	for name, reason := range map[string]string{
		FeatureFentry:     codePatching,
		FeatureLSMAttach:  codePatching,
		FeatureLSMProgram: codePatching,
		FeatureKprobe:     "",
	} {
		f, ok := report.Feature(name)
		if !ok || f.Available {
			t.Errorf("%s: reported available (%s), this kernel does not have it", name, f.Detail)
		}
		if !strings.Contains(f.Detail, reason) || f.Detail == "" {
			t.Errorf("%s: reason %q, want it to contain %q", name, f.Detail, reason)
		}
		if strings.Contains(f.Detail, "MEMLOCK") {
			t.Errorf("%s: reason %q repeats cilium/ebpf's misleading MEMLOCK hint", name, f.Detail)
		}
	}
	for name, want := range map[string]Status{
		CapabilityProcessMonitoring: StatusFull,
		CapabilityExecBlocking:      StatusFull,
		CapabilityFileBlocking:      StatusDegraded,
		CapabilityNetworkDeny:       StatusFull,
		CapabilityRingBuffer:        StatusFull,
		CapabilitySyscallSensors:    StatusFull,
		CapabilityProcessSnapshot:   StatusFull,
	} {
		if c, _ := report.Capability(name); c.Status != want {
			t.Errorf("%s: %s (%s), want %s", name, c.Status, c.Detail, want)
		}
	}

	// Other packages' tests make and remove cgroups in the same root while
	// this runs, and so may other probes: only this process's count.
	for _, name := range cgroupEntries(t, root) {
		if strings.HasPrefix(name, probeCgroupPattern()) {
			t.Errorf("probe left cgroup %s/%s behind", root, name)
		}
	}
}

// TestTempCgroupRemovedAfterFailure: the probes' temporary cgroup exists,
// named after this process, while the probe runs, and is gone afterwards
// even when the probe failed.
func TestTempCgroupRemovedAfterFailure(t *testing.T) {
	testenv.RequirePrivileged(t)
	root, err := cgroup2Root()
	if err != nil {
		t.Fatal(err)
	}
	var seen string
	failure := errors.New("attach refused")
	err = withTempCgroup(root, func(dir string) error {
		seen = dir
		if !strings.HasPrefix(filepath.Base(dir), probeCgroupPattern()) {
			t.Errorf("temporary cgroup %s is not named %s…", dir, probeCgroupPattern())
		}
		if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
			t.Errorf("temporary cgroup %s is not a cgroup: %v", dir, err)
		}
		return failure
	})
	if !errors.Is(err, failure) {
		t.Errorf("withTempCgroup returned %v, want the probe's error", err)
	}
	if _, err := os.Stat(seen); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary cgroup %s still there after the probe failed (%v)", seen, err)
	}
}

func cgroupEntries(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names
}

// TestPodScopesCapability: without the cgroup_mkdir tracepoint, pods are
// scoped only when the agent finds their cgroups, and the report says so.
func TestPodScopesCapability(t *testing.T) {
	get := func(fs []Feature) Capability {
		for _, c := range DeriveCapabilities(fs) {
			if c.Name == CapabilityPodScopes {
				return c
			}
		}
		t.Fatal("no pod scopes capability")
		return Capability{}
	}
	if c := get(without(thisKernel(), FeatureCgroupMkdir)); c.Status != StatusDegraded || !strings.Contains(c.Detail, "first execs may run unscoped") {
		t.Errorf("without cgroup_mkdir: %+v", c)
	}
	if c := get(without(thisKernel(), FeatureCgroup2)); c.Status != StatusUnavailable {
		t.Errorf("without cgroup2: %+v", c)
	}
}
