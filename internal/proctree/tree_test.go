package proctree

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func proc(pid, ppid uint32, binary string, startSec int) *event.Process {
	return &event.Process{
		PID: pid, TID: pid, PPID: ppid, Binary: binary,
		ExecID:    fmt.Sprintf("exec-%d-%d", pid, startSec),
		StartTime: t0.Add(time.Duration(startSec) * time.Second),
	}
}

func TestLineage(t *testing.T) {
	tr := New(Config{MaxEntries: 100, ExitGrace: time.Minute, AncestorDepth: 2})
	tr.Put(proc(1, 0, "/sbin/init", 0))
	tr.Put(proc(100, 1, "/usr/sbin/sshd", 1))
	tr.Put(proc(200, 100, "/usr/bin/bash", 2))
	tr.Put(proc(300, 200, "/usr/bin/sudo", 3))
	child := proc(400, 300, "/usr/bin/cat", 4)
	tr.Put(child)

	parent, anc := tr.Lineage(child)
	if parent == nil || parent.Binary != "/usr/bin/sudo" {
		t.Fatalf("parent = %+v, want sudo", parent)
	}
	if len(anc) != 2 || anc[0].Binary != "/usr/bin/bash" || anc[1].Binary != "/usr/sbin/sshd" {
		t.Errorf("ancestors = %+v, want bash then sshd (depth 2)", anc)
	}
	if anc[0].ExecID != "exec-200-2" {
		t.Errorf("ancestor exec id = %q", anc[0].ExecID)
	}
	if p, a := tr.Lineage(tr.Get(1)); p != nil || a != nil {
		t.Errorf("init has a parent: %+v %+v", p, a)
	}
}

// A parent slot whose process started after the child is a reused pid.
func TestReusedPidIsNotTheParent(t *testing.T) {
	tr := New(DefaultConfig())
	child := proc(500, 50, "/usr/bin/cat", 10)
	tr.Put(child)
	tr.Put(proc(50, 1, "/usr/bin/other", 20)) // pid 50 reused after the child started
	if p := tr.Parent(child); p != nil {
		t.Errorf("parent = %+v, want none: pid 50 was reused", p)
	}
}

func TestForkInheritsUntilExec(t *testing.T) {
	tr := New(DefaultConfig())
	parent := proc(10, 1, "/usr/bin/bash", 0)
	parent.Args = []string{"bash", "-l"}
	parent.UID = 1000
	parent.Container = &event.Container{ID: "host", Runtime: "host"}
	tr.Put(parent)

	child := tr.Fork(&event.Process{PID: 11, TID: 11, PPID: 10, Comm: "bash", StartTime: t0.Add(time.Second), ExecID: "fork-11"})
	if child.Binary != "/usr/bin/bash" || child.UID != 1000 || child.Container != parent.Container {
		t.Errorf("forked child = %+v, want the parent's image, uid and container", child)
	}
	if child.PID != 11 || child.PPID != 10 || child.ExecID != "fork-11" || child.ParentExecID != parent.ExecID {
		t.Errorf("forked child identity = %d/%d %q/%q", child.PID, child.PPID, child.ExecID, child.ParentExecID)
	}
	if child.Partial {
		t.Error("a child of a known parent is not partial")
	}
	if parent.PID != 10 || parent.ExecID == "fork-11" {
		t.Error("Fork modified the parent's Process: stored values must be immutable")
	}

	orphan := tr.Fork(&event.Process{PID: 21, PPID: 20, StartTime: t0, ExecID: "fork-21"})
	if !orphan.Partial {
		t.Error("a child of an unknown parent must be marked partial")
	}
}

func TestCapEvictsLeastRecentlyUsed(t *testing.T) {
	tr := New(Config{MaxEntries: 3, ExitGrace: time.Minute})
	for pid := uint32(1); pid <= 3; pid++ {
		tr.Put(proc(pid, 0, "/bin/x", int(pid)))
	}
	tr.Get(1) // 2 is now the least recently used
	tr.Put(proc(4, 0, "/bin/x", 4))
	if tr.Get(2) != nil {
		t.Error("pid 2 should have been evicted")
	}
	for _, pid := range []uint32{1, 3, 4} {
		if tr.Get(pid) == nil {
			t.Errorf("pid %d evicted, want it kept", pid)
		}
	}
	if s := tr.Stats(); s.Entries != 3 || s.Evictions != 1 {
		t.Errorf("stats = %+v, want 3 entries, 1 eviction", s)
	}
}

func TestExitedExpireAfterGrace(t *testing.T) {
	tr := New(Config{MaxEntries: 10, ExitGrace: 30 * time.Second})
	tr.Put(proc(7, 0, "/bin/a", 0))
	tr.Put(proc(8, 0, "/bin/b", 0))
	tr.Exit(7, t0.Add(10*time.Second))

	tr.Expire(t0.Add(39 * time.Second))
	if tr.Get(7) == nil {
		t.Fatal("pid 7 expired before its grace period ended")
	}
	if s := tr.Stats(); s.Exited != 1 {
		t.Errorf("stats = %+v, want 1 exited", s)
	}
	tr.Expire(t0.Add(41 * time.Second))
	if tr.Get(7) != nil {
		t.Error("pid 7 still cached after its grace period")
	}
	if tr.Get(8) == nil {
		t.Error("a live process expired")
	}
	if s := tr.Stats(); s.Expired != 1 || s.Exited != 0 {
		t.Errorf("stats = %+v, want 1 expired, 0 exited", s)
	}
}

// An exec after an exit (pid reused) replaces the entry; the old exit must
// not expire the new process.
func TestPidReuseSurvivesOldExit(t *testing.T) {
	tr := New(Config{MaxEntries: 10, ExitGrace: time.Second})
	tr.Put(proc(9, 0, "/bin/old", 0))
	tr.Exit(9, t0)
	tr.Put(proc(9, 0, "/bin/new", 5))
	tr.Expire(t0.Add(time.Hour))
	if p := tr.Get(9); p == nil || p.Binary != "/bin/new" {
		t.Errorf("pid 9 = %+v, want the new process kept", p)
	}
}
