package proctree

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestChurnKeepsQuietLiveProcesses: a web server that was last touched
// long ago keeps its place while more short-lived children than the cache
// holds come and go within the exit grace; its shell child still names it
// as parent. Exited processes are evicted first, and the cap holds.
func TestChurnKeepsQuietLiveProcesses(t *testing.T) {
	const size = 64
	tr := New(Config{MaxEntries: size, ExitGrace: time.Hour, AncestorDepth: 4})
	tr.Put(proc(1, 0, "/sbin/init", 0))
	tr.Put(proc(80, 1, "/usr/sbin/nginx", 1))
	for i := range uint32(10 * size) {
		pid := 1000 + i
		tr.Put(proc(pid, 1, "/bin/true", 2))
		tr.Exit(pid, t0.Add(3*time.Second))
		if n := tr.Stats().Entries; n > size {
			t.Fatalf("%d entries after %d processes, over the cap of %d", n, i+1, size)
		}
	}
	shell := proc(5000, 80, "/bin/sh", 4)
	tr.Put(shell)
	if parent, _ := tr.Lineage(shell); parent == nil || parent.Binary != "/usr/sbin/nginx" {
		t.Errorf("the shell's parent = %+v, want nginx, live and quiet, kept through the churn", parent)
	}
	st := tr.Stats()
	if st.LiveEvictions != 0 || st.Evictions == 0 {
		t.Errorf("stats %+v: want exited processes evicted, no live one", st)
	}
	// only when the cache is full of live processes does a live one go,
	// and that is counted apart
	for i := range uint32(size) {
		tr.Put(proc(9000+i, 1, "/bin/sleep", 5))
	}
	if st := tr.Stats(); st.LiveEvictions == 0 || st.Entries != size {
		t.Errorf("stats %+v: want live evictions counted once the cache is full of live processes", st)
	}
}

// TestLookupRecoversAMiss: a parent the tree never saw is asked of
// Recover, stored, and counted; a pid Recover does not know stays unknown.
func TestLookupRecoversAMiss(t *testing.T) {
	asked := 0
	tr := New(Config{MaxEntries: 16, ExitGrace: time.Minute, AncestorDepth: 2,
		Recover: func(pid uint32) *event.Process {
			asked++
			if pid != 80 {
				return nil
			}
			p := proc(80, 1, "/usr/sbin/nginx", 1)
			p.Recovered = true
			return p
		}})
	shell := proc(5000, 80, "/bin/sh", 4)
	tr.Put(shell)
	parent, _ := tr.Lineage(shell)
	if parent == nil || parent.Binary != "/usr/sbin/nginx" || !parent.Recovered {
		t.Fatalf("parent = %+v, want nginx recovered", parent)
	}
	if again, _ := tr.Lineage(shell); again != parent || asked != 2 {
		// the first lineage asked for 80, then for its parent 1
		t.Errorf("second lineage: %+v after %d questions, want the stored parent and no new question for 80", again, asked)
	}
	if st := tr.Stats(); st.Recovered != 1 {
		t.Errorf("stats %+v, want 1 recovered", st)
	}
}
