// Package event holds vigil's domain types: what the sensors saw, enriched
// with process ancestry and container identity. Every stage after the
// sensors speaks these types; the package imports only the standard library.
//
// Field names are the JSON schema documented in docs/events.md. Values that
// other events share (a Process, a Container) are immutable once an event
// carrying them has left the enrichment stage, so stages may hold on to them
// without copying.
package event

import "time"

// Event is one thing a sensor saw, with its context.
type Event struct {
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	Node string    `json:"node"`

	// Process did it; Parent is its parent (possibly partial), Ancestors
	// the chain above the parent, nearest first.
	Process   *Process   `json:"process"`
	Parent    *Process   `json:"parent,omitempty"`
	Ancestors []Ancestor `json:"ancestors,omitempty"`

	Exit *Exit `json:"exit,omitempty"`

	// Syscall is the system call behind the event and what it returned.
	Syscall *Syscall `json:"syscall,omitempty"`
	// One of these says what happened, according to Kind.
	File      *File      `json:"file,omitempty"`
	Network   *Network   `json:"network,omitempty"`
	DNS       *DNS       `json:"dns,omitempty"`
	Redirect  *Redirect  `json:"redirect,omitempty"`
	Privilege *Privilege `json:"privilege,omitempty"`
	Target    *Target    `json:"target,omitempty"`
	Namespace *Namespace `json:"namespace,omitempty"`
	Mount     *Mount     `json:"mount,omitempty"`
	Module    *Module    `json:"module,omitempty"`
	BPF       *BPF       `json:"bpf,omitempty"`
	OOM       *OOM       `json:"oom,omitempty"`

	// Enforcement is set on events a policy acted on.
	Enforcement *Enforcement `json:"enforcement,omitempty"`
}

// Syscall is a system call and its outcome.
type Syscall struct {
	Name string `json:"name"` // "openat", "setresuid", …
	// Ret is the return value; negative values are -errno.
	Ret int64 `json:"ret"`
	// Error names the errno ("EACCES") when Ret < 0.
	Error string `json:"error,omitempty"`
	// Args are the call's integer arguments in order, pointers left out;
	// docs/events.md lists them per kind (set only by the kinds it names).
	Args []int64 `json:"args,omitempty"`
	// Via is how the call reached the kernel when it was not a system
	// call of the process: "io_uring" for a request of a ring (Name is
	// then the operation: "openat", "connect").
	Via string `json:"via,omitempty"`
}

// Ancestor is one process up the parent chain.
type Ancestor struct {
	PID    uint32 `json:"pid"`
	Binary string `json:"binary"`
	ExecID string `json:"exec_id,omitempty"`
	// Trusted is its process's BinaryTrusted.
	Trusted bool `json:"trusted,omitempty"`
}

// Exit says how a process ended.
type Exit struct {
	// Code is the exit status when the process exited, 0 when killed.
	Code int `json:"code"`
	// Signal is the signal that killed it, 0 when it exited.
	Signal     int    `json:"signal"`
	SignalName string `json:"signal_name,omitempty"`
	CoreDumped bool   `json:"core_dumped,omitempty"`
	// DurationNS is how long the process lived, from fork to exit.
	DurationNS int64 `json:"duration_ns"`
}
