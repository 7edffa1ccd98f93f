package proctree

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

func encode(t *testing.T, p *event.Process) string {
	t.Helper()
	raw, err := p.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestLateContainerMetadata: a container's name and pod, learnt after its
// first exec, reach that process's later lookups and its children's
// parent, never the values handed out before.
func TestLateContainerMetadata(t *testing.T) {
	tr := New(Config{MaxEntries: 100, ExitGrace: time.Minute, AncestorDepth: 4})
	atExec := &event.Container{ID: "c1", Runtime: "containerd", Pod: &event.Pod{UID: "u1"}}
	ref := event.NewContainerRef(atExec)
	shell := proc(10, 1, "/bin/sh", 0)
	shell.Container, shell.ContainerRef = atExec, ref
	tr.Put(shell)

	before := tr.Get(10)
	beforeJSON := encode(t, before) // as an event emitted now would carry it
	if strings.Contains(beforeJSON, `"web"`) {
		t.Fatalf("metadata invented before it arrived: %s", beforeJSON)
	}

	ref.Store(&event.Container{ID: "c1", Runtime: "containerd", Name: "web",
		Pod: &event.Pod{UID: "u1", Name: "web-7d9", Namespace: "shop"}})

	now := tr.Get(10)
	if now.Container.Name != "web" || now.Container.Pod.Name != "web-7d9" {
		t.Errorf("process after the update: container %+v", now.Container)
	}
	if js := encode(t, now); !strings.Contains(js, `"name":"web"`) || !strings.Contains(js, `"namespace":"shop"`) {
		t.Errorf("process JSON after the update: %s", js)
	}
	if now.PID != 10 || now.ExecID != shell.ExecID || now.Binary != "/bin/sh" {
		t.Errorf("rebinding changed the process: %+v", now)
	}
	if before.Container != atExec || encode(t, before) != beforeJSON {
		t.Errorf("the process handed out before the update changed: %+v", before.Container)
	}
	if tr.Get(10) != now {
		t.Error("an unchanged container made another copy")
	}

	// a child forked and exec'd after the update, and its own child
	child := tr.Fork(proc(20, 10, "", 1))
	if child.Container.Name != "web" {
		t.Errorf("fork inherited %+v", child.Container)
	}
	grandchild := proc(30, 20, "/usr/bin/curl", 2)
	tr.Put(grandchild)
	parent, anc := tr.Lineage(grandchild)
	if parent == nil || parent.Container.Name != "web" || !strings.Contains(encode(t, parent), `"name":"web-7d9"`) {
		t.Errorf("parent = %+v", parent)
	}
	if len(anc) != 1 || anc[0].PID != 10 {
		t.Errorf("ancestors = %+v, want the shell", anc)
	}
	if s := tr.Stats(); s.Rebinds != 1 {
		t.Errorf("rebinds = %d, want 1", s.Rebinds)
	}
}

// TestForkBeforeUpdateSeesIt: a child forked before the update shares the
// reference and is brought up to date as its parent is.
func TestForkBeforeUpdateSeesIt(t *testing.T) {
	tr := New(DefaultConfig())
	ref := event.NewContainerRef(&event.Container{ID: "c1", Runtime: "docker"})
	shell := proc(10, 1, "/bin/sh", 0)
	shell.Container, shell.ContainerRef = ref.Load(), ref
	tr.Put(shell)
	tr.Fork(proc(20, 10, "", 1))
	ref.Store(&event.Container{ID: "c1", Runtime: "docker", Name: "db"})
	if c := tr.Get(20).Container; c.Name != "db" {
		t.Errorf("child container = %+v, want the update", c)
	}
	if p := tr.Parent(tr.Get(20)); p == nil || p.Container.Name != "db" {
		t.Errorf("child's parent = %+v, want the update", p)
	}
}

// TestForkIntoAnotherCgroupDropsTheParentsReference: a child cloned into
// another cgroup is not the parent's container's, whatever it learns.
func TestForkIntoAnotherCgroupDropsTheParentsReference(t *testing.T) {
	tr := New(DefaultConfig())
	ref := event.NewContainerRef(&event.Container{ID: "c1", Runtime: "docker"})
	shell := proc(10, 1, "/bin/sh", 0)
	shell.Cgroup.ID = 5
	shell.Container, shell.ContainerRef = ref.Load(), ref
	tr.Put(shell)
	child := proc(20, 10, "", 1)
	child.Cgroup.ID = 6
	tr.Fork(child)
	ref.Store(&event.Container{ID: "c1", Runtime: "docker", Name: "db"})
	if c := tr.Get(20).Container; c != nil {
		t.Errorf("child in another cgroup has container %+v", c)
	}
}
