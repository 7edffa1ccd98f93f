package enrich

import (
	"os"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/procfs"
	"github.com/vigil-sec/vigil/internal/proctree"
)

// TestLostParentIsReadFromProc: an exec whose parent the cache never held
// (its fork and exec were lost) still gets its parent, read from /proc and
// marked recovered; a parent that is gone leaves the event without one.
func TestLostParentIsReadFromProc(t *testing.T) {
	e := New("n1", proctree.New(proctree.DefaultConfig()), container.NewResolver(16))
	boot := time.Now().Add(-time.Hour * 24 * 365) // any origin: only order matters here
	e.RecoverFrom(procfs.Options{Proc: "/proc", Time: func(ns uint64) time.Time { return boot.Add(time.Duration(ns)) }})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ev := &event.Event{Kind: event.KindProcessExec, Time: time.Now(), Process: &event.Process{
		PID: 4000000, PPID: uint32(os.Getpid()), Binary: "/bin/sh", StartTime: time.Now()}}
	e.Enrich(ev)
	if ev.Parent == nil || ev.Parent.PID != uint32(os.Getpid()) || !ev.Parent.Recovered || ev.Parent.Binary != self || ev.Parent.ExecID == "" {
		t.Fatalf("parent = %+v, want this test process, read from /proc and marked recovered", ev.Parent)
	}
	if ev.Process.ParentExecID != ev.Parent.ExecID {
		t.Errorf("parent exec id %q, want the recovered parent's %q", ev.Process.ParentExecID, ev.Parent.ExecID)
	}
	orphan := &event.Event{Kind: event.KindProcessExec, Time: time.Now(), Process: &event.Process{
		PID: 4000001, PPID: 4000002, Binary: "/bin/sh", StartTime: time.Now()}}
	e.Enrich(orphan)
	if orphan.Parent != nil {
		t.Errorf("a parent that does not exist was found: %+v", orphan.Parent)
	}
}
