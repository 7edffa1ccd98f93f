package event

// Privilege is a change of credentials or capabilities.
type Privilege struct {
	Before Creds `json:"before"`
	After  Creds `json:"after"`
	// CapsBefore and CapsAfter are set for capset, and for any call that
	// changed the capabilities (a setuid or setfsuid away from root drops
	// them).
	CapsBefore *Caps `json:"caps_before,omitempty"`
	CapsAfter  *Caps `json:"caps_after,omitempty"`
	// User names the uid a setuid, setreuid, setresuid or setfsuid asks
	// for (its first uid argument other than -1) from the caller's own
	// /etc/passwd, as Falco's evt.arg.uid; "" when it has no entry.
	User string `json:"user,omitempty"`
}

// Creds are a task's user and group ids.
type Creds struct {
	UID   uint32 `json:"uid"`
	EUID  uint32 `json:"euid"`
	SUID  uint32 `json:"suid"`
	FSUID uint32 `json:"fsuid"`
	GID   uint32 `json:"gid"`
	EGID  uint32 `json:"egid"`
	SGID  uint32 `json:"sgid"`
	FSGID uint32 `json:"fsgid"`
}

// Caps are capability sets by name ("CAP_SYS_ADMIN", …).
type Caps struct {
	Effective   []string `json:"effective"`
	Permitted   []string `json:"permitted"`
	Inheritable []string `json:"inheritable"`
	// Bounding is the bounding set, a process's caps only.
	Bounding []string `json:"bounding,omitempty"`
}

// Target is the other process of a ptrace, process_vm_writev or
// process_signal.
type Target struct {
	PID    uint32 `json:"pid"`
	Binary string `json:"binary,omitempty"`
	ExecID string `json:"exec_id,omitempty"`
	// Request is the ptrace request ("PTRACE_ATTACH", …).
	Request string `json:"request,omitempty"`
	// Comm is the target's task name, process_signal only.
	Comm string `json:"comm,omitempty"`
	// Signal and SignalName are the signal sent, process_signal only.
	Signal     int    `json:"signal,omitempty"`
	SignalName string `json:"signal_name,omitempty"`
	// Agent says the target is the vigil agent itself (process_signal).
	Agent bool `json:"agent,omitempty"`
}

// Namespace is an unshare or setns.
type Namespace struct {
	// Types are the namespaces entered or created: "mnt", "net", "pid",
	// "user", "uts", "ipc", "cgroup", "time".
	Types []string `json:"types"`
	Flags uint64   `json:"flags"`
}

// Mount is a mount, umount or pivot_root. For pivot_root, Source is the
// new root and Target where the old one goes.
type Mount struct {
	Source string   `json:"source,omitempty"`
	Target string   `json:"target"`
	FSType string   `json:"fstype,omitempty"`
	Flags  []string `json:"flags,omitempty"`
}

// Module is a kernel module being loaded or unloaded.
type Module struct {
	Name string `json:"name,omitempty"`
	// Path is the file finit_module loads from.
	Path string `json:"path,omitempty"`
}

// BPF is a bpf() call that loads or attaches a program.
type BPF struct {
	Command    string `json:"command"`   // "BPF_PROG_LOAD", "BPF_LINK_CREATE", …
	ProgType   string `json:"prog_type"` // "kprobe", "xdp", …
	ProgName   string `json:"prog_name"`
	AttachType string `json:"attach_type,omitempty"`
	Insns      uint32 `json:"insns,omitempty"`
	// Target is what the program attaches to, where bpf() names it: a
	// raw tracepoint, or the kernel function of a tracing program.
	Target string `json:"target,omitempty"`
}
