package proctree

import (
	"github.com/vigil-sec/vigil/internal/event"
)

// Parent returns p's parent, or nil when it is unknown. A process that
// started after p holds a reused pid and is not p's parent.
func (t *Tree) Parent(p *event.Process) *event.Process {
	if p.PPID == 0 || p.PPID == p.PID {
		return nil
	}
	parent := t.Lookup(p.PPID)
	if parent == nil || parent.StartTime.After(p.StartTime) {
		return nil
	}
	return parent
}

// Lineage returns p's parent and the ancestors above it, nearest first, up
// to the configured depth.
func (t *Tree) Lineage(p *event.Process) (parent *event.Process, ancestors []event.Ancestor) {
	parent = t.Parent(p)
	if parent == nil {
		return nil, nil
	}
	// gathered on the stack, then copied at their number: one allocation
	// for any depth up to len(buf), where appending would regrow
	var buf [16]event.Ancestor
	chain := buf[:0]
	cur := parent
	for len(chain) < t.cfg.AncestorDepth {
		up := t.Parent(cur)
		if up == nil {
			break
		}
		chain = append(chain, event.Ancestor{PID: up.PID, Binary: up.Binary, ExecID: up.ExecID, Trusted: up.BinaryTrusted})
		cur = up
	}
	if len(chain) == 0 {
		return parent, nil
	}
	ancestors = make([]event.Ancestor, len(chain))
	copy(ancestors, chain)
	return parent, ancestors
}

// Fork stores a new child process. It inherits what its parent was running
// (binary, args, credentials, cwd, container) until it execs; fields the
// fork record carries (pid, start time, comm, cgroup) are the child's own.
func (t *Tree) Fork(child *event.Process) *event.Process {
	stored := child
	if parent := t.Parent(child); parent != nil {
		c := parent.Clone()
		c.PID, c.TID, c.PPID = child.PID, child.TID, child.PPID
		c.StartTime = child.StartTime
		c.ExecID = child.ExecID
		c.ParentExecID = parent.ExecID
		if child.Comm != "" {
			c.Comm = child.Comm
		}
		if child.Cgroup.ID != 0 && child.Cgroup.ID != parent.Cgroup.ID {
			// cloned into another cgroup: the parent's path is not ours
			c.Cgroup = child.Cgroup
			c.Container, c.ContainerRef = child.Container, child.ContainerRef
			c.Partial = true
		}
		stored = c
	} else {
		child.Partial = true
	}
	t.Put(stored)
	return stored
}
