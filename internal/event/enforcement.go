package event

import "net/netip"

// Enforcement says what a policy did about an event: the kernel program or
// the user-space stage that acted, and how.
type Enforcement struct {
	// Policy names the policy (or "rules" for rules with action kill or
	// deny) and Rule the entry or rule of it that matched.
	Policy string `json:"policy"`
	Rule   string `json:"rule,omitempty"`
	// PolicyID is the policy's number in the kernel (0–63), which the
	// decoders read and the enforce stage turns into Policy and Rule.
	PolicyID int    `json:"-"`
	Action   Action `json:"action"`
	// Mechanism is "kernel" when a BPF program decided and acted
	// synchronously, "userspace" when the agent acted after the event.
	Mechanism string `json:"mechanism"`
	// Hook is where it happened: "sched_process_exec", "cgroup/connect4",
	// "sys_exit_openat", "xdp", or "agent" for user-space kills.
	Hook string `json:"hook"`
	// LatencyNS is, for user-space kills, the time from the event to the
	// signal.
	LatencyNS int64 `json:"latency_ns,omitempty"`
	// Error says why an action failed (the process was already gone…).
	Error string `json:"error,omitempty"`
	// Match is the kernel entry that matched, which the enforce stage
	// names; not part of the schema.
	Match EnforceMatch `json:"-"`
}

// EnforceMatch identifies a kernel deny entry: a file by its device and
// inode, or a network entry by prefix, port and protocol.
type EnforceMatch struct {
	Dev, Ino uint64
	Prefix   netip.Prefix
	Port     uint16
	Protocol string
}

// Mechanisms of Enforcement.
const (
	MechanismKernel    = "kernel"
	MechanismUserspace = "userspace"
)
