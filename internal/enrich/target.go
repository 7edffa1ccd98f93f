package enrich

import "github.com/vigil-sec/vigil/internal/event"

// resolveTarget completes the other process of a ptrace or
// process_vm_writev (ev.Target) from the process tree: its exec id, and
// its binary when the kernel could not name it. The kernel's binary wins:
// when the tree remembers another binary under that pid, its entry is of
// an earlier process (a reused pid, or an exec not yet seen) and is not
// used. It does nothing for events without a target, so Enrich may call
// it for every event.
func (e *Enricher) resolveTarget(ev *event.Event) {
	t := ev.Target
	if t == nil || t.PID == 0 {
		return
	}
	known := e.tree.Get(t.PID)
	if known == nil || (t.Binary != "" && known.Binary != t.Binary) {
		return
	}
	t.ExecID = known.ExecID
	if t.Binary == "" {
		t.Binary = known.Binary
	}
}
