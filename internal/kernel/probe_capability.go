package kernel

import "strings"

// Status says how much of a vigil capability runs on this kernel.
type Status string

// The statuses, most first.
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
	CapabilityModuleBlocking    = "kernel module blocking"
	CapabilityLSMTier           = "BPF LSM tier"
	CapabilityPodScopes         = "pod-scoped policies"
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
		fs.moduleBlocking(),
		fs.lsmTier(),
		fs.podScopes(),
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

// processSensorNeeds are the features the process sensor is built on:
// tp_btf programs on the scheduler's tracepoints, paths walked with
// bpf_loop (Linux 5.17), exec records reserved at their exact size with
// bpf_ringbuf_reserve_dynptr (5.19) in the shared ring buffer. The agent
// requires the sensor, so without one of them vigil run does not start.
func processSensorNeeds() []string {
	return []string{FeatureBTF, FeatureTPBTF, FeatureLoop, FeatureRingbuf, FeatureRingbufDynptr}
}

// agentDown is why a capability of the running agent is unavailable when
// the process sensor cannot load.
const agentDown = "vigil run does not start here: it requires the process sensor, which cannot load (see process monitoring)"

// missing lists the named features that are unavailable, with the kernel's
// reason for each.
func (fs featureSet) missing(names ...string) []string {
	var out []string
	for _, n := range names {
		if !fs.has(n) {
			out = append(out, n+" ("+fs.reason(n)+")")
		}
	}
	return out
}

func (fs featureSet) processSensorLoads() bool { return len(fs.missing(processSensorNeeds()...)) == 0 }

func (fs featureSet) processMonitoring() Capability {
	const name = CapabilityProcessMonitoring
	if missing := fs.missing(processSensorNeeds()...); len(missing) > 0 {
		return unavailable(name, "the process sensor, which vigil run requires, needs kernel BTF, tp_btf, "+
			"bpf_loop (Linux 5.17) and bpf_ringbuf_reserve_dynptr (5.19); missing: "+strings.Join(missing, "; "))
	}
	return full(name, "tp_btf sched_process_exec/exit/fork: typed arguments, no tracefs needed; "+
		"paths walked with bpf_loop, exec records sized with bpf_ringbuf_reserve_dynptr")
}

func (fs featureSet) syscallSensors() Capability {
	const name = CapabilitySyscallSensors
	switch {
	case !fs.processSensorLoads():
		return unavailable(name, agentDown)
	case !fs.has(FeatureTracepoint):
		return unavailable(name, "the file, network and privilege sensors attach to classic syscall tracepoints: "+
			fs.reason(FeatureTracepoint)+"; vigil run mounts tracefs at "+TraceFSPath+
			" when it is missing, and runs without a sensor that still cannot attach")
	}
	return full(name, "file, network and privilege sensors on the classic sys_enter_*/sys_exit_* tracepoints "+
		"of the calls they watch (network also on tp_btf inet_sock_set_state); calls without a tracepoint "+
		"on this kernel only through the privilege sensor's opt-in tp_btf sys_enter/sys_exit dispatcher")
}

func (fs featureSet) execBlocking() Capability {
	const name = CapabilityExecBlocking
	if !fs.has(FeatureSendSignal) || !fs.has(FeatureTPBTF) {
		return unavailable(name, "the exec guard needs bpf_send_signal in a tp_btf program at sched_process_exec: "+
			fs.reason(FeatureSendSignal)+"; "+fs.reason(FeatureTPBTF))
	}
	how := "kill at exec: SIGKILL from tp_btf/sched_process_exec by (device, inode), before the new image's " +
		"first instruction; copies caught by SHA-256 while held (SIGSTOP) for hashing"
	if fs.has(FeatureLSMAttach) {
		return full(name, how+"; with --lsm, BPF LSM bprm_check_security fails the exec with EPERM instead")
	}
	return full(name, how+" (no BPF LSM here to fail the exec itself)")
}

func (fs featureSet) fileBlocking() Capability {
	const name = CapabilityFileBlocking
	switch {
	case fs.has(FeatureLSMAttach):
		return degraded(name, "detect and kill at sys_exit_open* (O_CREAT/O_TRUNC side effects happen); "+
			"with --lsm, BPF LSM file_open fails the open with EPERM instead")
	case fs.has(FeatureSendSignal) && fs.has(FeatureTracepoint):
		return degraded(name, "detect and kill: SIGKILL on return from the open, decided from the opened file; "+
			"the open's O_CREAT/O_TRUNC side effects happen; no BPF LSM here to fail it")
	}
	return unavailable(name, "the file guard needs bpf_send_signal at the sys_exit_open* tracepoints: "+
		fs.reason(FeatureSendSignal)+"; "+fs.reason(FeatureTracepoint))
}

func (fs featureSet) networkDeny() Capability {
	const name = CapabilityNetworkDeny
	hooks := []string{FeatureCgroupConnect4, FeatureCgroupConnect6, FeatureCgroupSendmsg4, FeatureCgroupSendmsg6}
	var missing []string
	for _, h := range hooks {
		if !fs.has(h) {
			missing = append(missing, h)
		}
	}
	switch {
	case !fs.has(FeatureCgroup2):
		return unavailable(name, "no cgroup2 hierarchy to attach the network guard to")
	case len(missing) == 0:
		return full(name, "cgroup connect4/6, sendmsg4/6 and bind4/6 at the cgroup2 root fail the call with EPERM")
	}
	// the network guard loads its six programs as one collection
	return unavailable(name, "the network guard needs every cgroup sock_addr hook; missing: "+strings.Join(missing, ", "))
}

func (fs featureSet) packetDrop() Capability {
	const name = CapabilityPacketDrop
	switch {
	case fs.has(FeatureXDP):
		return full(name, "XDP on the interfaces a policy names, tcx ingress where XDP cannot attach")
	case fs.has(FeatureTCX):
		return degraded(name, "tcx ingress only: drops after the skb is allocated")
	}
	return unavailable(name, "neither XDP nor tcx is available: "+fs.reason(FeatureXDP)+"; "+fs.reason(FeatureTCX))
}

func (fs featureSet) moduleBlocking() Capability {
	const name = CapabilityModuleBlocking
	if !fs.has(FeatureSendSignal) || !fs.has(FeatureTPBTF) {
		return unavailable(name, "needs bpf_send_signal from tp_btf sys_enter or the module syscalls' tracepoints")
	}
	how := "kill at init_module/finit_module entry (their tracepoints, or a sys_enter/sys_exit dispatcher " +
		"that every system call pays for while a policy blocks modules); the kernel still finishes the call"
	if fs.has(FeatureCompatSyscalls) {
		how += "; 32-bit calls (int $0x80) exist here and only the dispatcher sees them"
	} else {
		how += "; no 32-bit calls here to slip past the tracepoints"
	}
	if fs.has(FeatureLSMAttach) {
		return degraded(name, how+"; with --lsm, BPF LSM kernel_read_file/kernel_load_data refuse the module")
	}
	return degraded(name, how+"; no BPF LSM here to refuse the load")
}

func (fs featureSet) lsmTier() Capability {
	const name = CapabilityLSMTier
	if fs.has(FeatureLSMAttach) {
		return full(name, "BPF LSM programs attach: --lsm refuses denied execs, protected opens and module loads with EPERM "+
			"(untested: no kernel the project tests on runs BPF LSM)")
	}
	return unavailable(name, "BPF LSM programs do not load or attach here: "+fs.reason(FeatureLSMAttach)+
		"; enforcement kills instead of refusing")
}

func (fs featureSet) podScopes() Capability {
	const name = CapabilityPodScopes
	switch {
	case !fs.has(FeatureCgroup2):
		return unavailable(name, "needs a cgroup v2 hierarchy, whose ids scope policies: "+fs.reason(FeatureCgroup2))
	case !fs.has(FeatureCgroupMkdir):
		return degraded(name, "pods' cgroups are scoped when the agent finds them, not at their creation: "+
			"a new pod's first execs may run unscoped ("+fs.reason(FeatureCgroupMkdir)+")")
	}
	return full(name, "a new pod's cgroup (and a container's whose id is known) is scoped as it is created "+
		"(tp_btf cgroup_mkdir), before its first exec; the pods come from the Kubernetes watch")
}

func (fs featureSet) processSnapshot() Capability {
	const name = CapabilityProcessSnapshot
	if !fs.processSensorLoads() {
		return unavailable(name, agentDown)
	}
	// iter/task is not used: reading other tasks' argv from an iterator
	// needs a sleepable one and bpf_copy_from_user_task (docs/architecture.md)
	return full(name, "reads /proc once the sensors are attached: binary, argv, cwd, ids, tty and cgroup "+
		"of every running process; one born meanwhile is seen by both, never missed")
}

func (fs featureSet) ringBuffer() Capability {
	const name = CapabilityRingBuffer
	switch {
	case !fs.has(FeatureRingbuf):
		return unavailable(name, "vigil requires the BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8) and has no "+
			"perf buffer fallback: "+fs.reason(FeatureRingbuf))
	case !fs.has(FeatureRingbufDynptr):
		return unavailable(name, "exec and file records are reserved at their exact size with "+
			"bpf_ringbuf_reserve_dynptr (Linux 5.19): "+fs.reason(FeatureRingbufDynptr)+
			"; the process sensor cannot load, so vigil run does not start")
	}
	return full(name, "one BPF ring buffer for all sensors: fixed-size records reserved in place, exec and file "+
		"records copied into exact-size reservations with bpf_ringbuf_reserve_dynptr; wake-ups batched")
}

func (fs featureSet) overheadMetrics() Capability {
	const name = CapabilityOverheadMetrics
	switch {
	case !fs.processSensorLoads():
		return unavailable(name, agentDown)
	case !fs.has(FeatureBPFStats):
		return unavailable(name, "no kernel.bpf_stats_enabled sysctl: "+fs.reason(FeatureBPFStats))
	}
	return full(name, "per-program run count and run time in the metrics while kernel.bpf_stats_enabled is on "+
		"(vigil run --bpf-stats switches it on while it runs)")
}

// reason is why a feature is unavailable, for a capability's detail.
func (fs featureSet) reason(name string) string {
	f, ok := fs[name]
	if !ok {
		return name + " was not probed"
	}
	return f.Detail
}
