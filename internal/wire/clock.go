package wire

import (
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// Clock dates records: it converts the kernel's boot-clock nanoseconds (a
// header's Ktime, a task's start_boottime) to wall-clock time. The agent's
// is kernel.BootClock.Time; a nil Clock leaves times zero. Every decoder,
// sensor or enforcement, holds one.
type Clock func(bootNS uint64) time.Time

// At is the wall-clock time of bootNS.
func (c Clock) At(bootNS uint64) time.Time {
	if c == nil {
		return time.Time{}
	}
	return c(bootNS)
}

// Event starts the event a record makes: of kind, dated by its header, about
// the bare process the header names.
func (c Clock) Event(h Header, kind event.Kind) *event.Event {
	return &event.Event{Time: c.At(h.Ktime), Kind: kind, Process: Process(h)}
}

// EventWith starts the event a record makes in ev, as Event does, with
// the bare process (Process) written in p: for a decoder that allocates
// the event, its process and its kind's objects together.
func (c Clock) EventWith(ev *event.Event, p *event.Process, h Header, kind event.Kind) {
	*p = bare(h)
	*ev = event.Event{Time: c.At(h.Ktime), Kind: kind, Process: p}
}

// Process is the process a header names, as bare as the kernel reported it
// (pid, tid, cgroup id); the enrich stage completes it.
func Process(h Header) *event.Process {
	p := bare(h)
	return &p
}

func bare(h Header) event.Process {
	return event.Process{PID: h.Pid, TID: h.Tid, Cgroup: event.Cgroup{ID: h.CgroupId}}
}
