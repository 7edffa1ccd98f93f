package kernel

import "strings"

// Status says how much of a vigil capability runs on this kernel.
type Status string

const (
	StatusFull        Status = "full"
	StatusDegraded    Status = "degraded"
	StatusUnavailable Status = "unavailable"
)

// Capability names, as DeriveCapabilities reports them and
// Report.Capability looks them up.
const (
	CapabilityProcessMonitoring = "process monitoring"
	CapabilitySyscallSensors    = "syscall sensors"
	CapabilityExecBlocking      = "exec blocking"
	CapabilityFileBlocking      = "file access blocking"
	CapabilityNetworkDeny       = "network deny"
	CapabilityPacketDrop        = "packet drop"
	CapabilityProcessSnapshot   = "process snapshot"
	CapabilityRingBuffer        = "ring buffer transport"
	CapabilityOverheadMetrics   = "BPF overhead metrics"
)

// Capability is one thing vigil does, and how it does it on this kernel.
type Capability struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Detail says how it runs (full, degraded) or why it does not.
	Detail string `json:"detail"`
}

// DeriveCapabilities decides, from feature results alone, how each vigil
// capability runs. It is pure so that every kernel vigil may meet can be
// described in a unit test. A feature missing from features counts as
// unavailable.
func DeriveCapabilities(features []Feature) []Capability {
	fs := make(featureSet, len(features))
	for _, f := range features {
		fs[f.Name] = f
	}
	return []Capability{
		fs.processMonitoring(),
		fs.syscallSensors(),
		fs.execBlocking(),
		fs.fileBlocking(),
		fs.networkDeny(),
		fs.packetDrop(),
		fs.processSnapshot(),
		fs.ringBuffer(),
		fs.overheadMetrics(),
	}
}

type featureSet map[string]Feature

func (fs featureSet) has(name string) bool { return fs[name].Available }

func full(name, how string) Capability { return Capability{name, StatusFull, how} }
func degraded(name, how string) Capability {
	return Capability{name, StatusDegraded, how}
}
func unavailable(name, why string) Capability {
	return Capability{name, StatusUnavailable, why}
}

// noTransport is why an event sensor cannot run: its events have no way out.
const noTransport = "no BPF ring buffer to carry events (ringbuf unavailable)"

func (fs featureSet) processMonitoring() Capability {
	const name = CapabilityProcessMonitoring
	switch {
	case !fs.has(FeatureRingbuf):
		return unavailable(name, noTransport)
	case fs.has(FeatureTPBTF):
		return full(name, "tp_btf sched_process_exec/exit/fork: typed arguments, no tracefs needed")
	case fs.has(FeatureRawTP):
		return degraded(name, "raw_tp sched_process_exec/exit/fork instead of tp_btf: untyped arguments, every field read with bpf_probe_read_kernel")
	case fs.has(FeatureTracepoint):
		return degraded(name, "classic sched/* tracepoints instead of tp_btf: costlier per event, needs tracefs")
	}
	return unavailable(name, "none of tp_btf, raw_tp or classic tracepoints attaches")
}

func (fs featureSet) syscallSensors() Capability {
	const name = CapabilitySyscallSensors
	tracepoints, rawTP := fs.has(FeatureTracepoint), fs.has(FeatureRawTP)
	switch {
	case !fs.has(FeatureRingbuf):
		return unavailable(name, noTransport)
	case tracepoints && rawTP:
		return full(name, "classic syscall tracepoints (sys_enter_*/sys_exit_*) and raw_tp sys_enter")
	case tracepoints:
		return degraded(name, "classic syscall tracepoints only: no raw_tp sys_enter for syscalls without a tracepoint sensor")
	case rawTP:
		return degraded(name, "raw_tp sys_enter/sys_exit only: one program runs on every syscall (~80 ns each) instead of only on watched ones; classic tracepoints: "+fs.reason(FeatureTracepoint))
	}
	return unavailable(name, "neither classic syscall tracepoints nor raw_tp sys_enter attach")
}

func (fs featureSet) execBlocking() Capability {
	const name = CapabilityExecBlocking
	switch {
	case fs.has(FeatureLSMAttach):
		return full(name, "synchronous: BPF LSM fails the exec with -EPERM")
	case fs.has(FeatureSendSignal) && (fs.has(FeatureTPBTF) || fs.has(FeatureRawTP)):
		return full(name, "kill at exec: bpf_send_signal(SIGKILL) at sched_process_exec, before the new image runs (no BPF LSM for a synchronous -EPERM)")
	}
	return unavailable(name, "needs BPF LSM, or bpf_send_signal with tp_btf or raw_tp at sched_process_exec")
}

func (fs featureSet) fileBlocking() Capability {
	const name = CapabilityFileBlocking
	switch {
	case fs.has(FeatureLSMAttach):
		return full(name, "BPF LSM file_open returns -EPERM: the open fails")
	case fs.has(FeatureSendSignal) && (fs.has(FeatureTracepoint) || fs.has(FeatureRawTP)):
		return degraded(name, "detect and kill: the syscall still completes (O_CREAT/O_TRUNC side effects); no BPF LSM to fail it")
	}
	return unavailable(name, "needs BPF LSM, or bpf_send_signal at a syscall tracepoint or raw_tp")
}

func (fs featureSet) networkDeny() Capability {
	const name = CapabilityNetworkDeny
	hooks := []string{FeatureCgroupConnect4, FeatureCgroupConnect6, FeatureCgroupSendmsg4, FeatureCgroupSendmsg6}
	var working, missing []string
	for _, h := range hooks {
		if fs.has(h) {
			working = append(working, h)
		} else {
			missing = append(missing, h)
		}
	}
	switch {
	case len(missing) == 0:
		return full(name, "cgroup connect4/6 and sendmsg4/6 deny synchronously with EPERM")
	case len(working) > 0:
		return degraded(name, "only "+strings.Join(working, ", ")+"; not denied: "+strings.Join(missing, ", "))
	}
	return unavailable(name, "no cgroup connect/sendmsg hook attaches")
}

func (fs featureSet) packetDrop() Capability {
	const name = CapabilityPacketDrop
	switch {
	case fs.has(FeatureXDP):
		return full(name, "XDP drops before the kernel allocates an skb")
	case fs.has(FeatureTCX):
		return degraded(name, "tcx ingress instead of XDP: drops after the skb is allocated")
	case fs.has(FeatureCgroupSKB):
		return degraded(name, "cgroup_skb instead of XDP or tcx: drops only for processes in watched cgroups")
	}
	return unavailable(name, "none of XDP, tcx or cgroup_skb is available")
}

func (fs featureSet) processSnapshot() Capability {
	const name = CapabilityProcessSnapshot
	if fs.has(FeatureIterTask) {
		return full(name, "iter/task walks every task in the kernel in one pass")
	}
	return degraded(name, "reads /proc instead of iter/task: slower, and processes can start or exit between reads")
}

func (fs featureSet) ringBuffer() Capability {
	const name = CapabilityRingBuffer
	switch {
	case !fs.has(FeatureRingbuf):
		return unavailable(name, "vigil requires the BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8+): "+fs.reason(FeatureRingbuf))
	case fs.has(FeatureRingbufDynptr):
		return full(name, "BPF ring buffer, variable-size records with bpf_ringbuf_reserve_dynptr")
	}
	return full(name, "BPF ring buffer, fixed-size records (no bpf_ringbuf_reserve_dynptr)")
}

func (fs featureSet) overheadMetrics() Capability {
	const name = CapabilityOverheadMetrics
	if fs.has(FeatureBPFStats) {
		return full(name, "per-program run count and time from kernel.bpf_stats_enabled")
	}
	return unavailable(name, "no kernel.bpf_stats_enabled sysctl: "+fs.reason(FeatureBPFStats))
}

// reason is why a feature is unavailable, for a capability's detail.
func (fs featureSet) reason(name string) string {
	f, ok := fs[name]
	if !ok {
		return name + " was not probed"
	}
	return f.Detail
}
