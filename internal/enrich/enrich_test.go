package enrich

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proctree"
)

func TestExecIDIsStableAndDistinct(t *testing.T) {
	at := time.Unix(1700000000, 123)
	a := ExecID("node-a", 42, at)
	if a != ExecID("node-a", 42, at) {
		t.Error("the same process got two exec ids")
	}
	for _, other := range []string{
		ExecID("node-b", 42, at),
		ExecID("node-a", 43, at),
		ExecID("node-a", 42, at.Add(time.Nanosecond)),
	} {
		if other == a {
			t.Errorf("exec id %q shared by different processes", a)
		}
	}
}

// TestExecIDEncodesNodePIDStart: an exec id is the unpadded URL-safe
// base64 of "node:pid:start-ns", for short node names and long ones alike.
func TestExecIDEncodesNodePIDStart(t *testing.T) {
	at := time.Unix(1700000000, 123)
	for _, node := range []string{"", "n", "worker-7.cluster.example", strings.Repeat("long-node-", 20)} {
		raw, err := base64.RawURLEncoding.DecodeString(ExecID(node, 4242, at))
		if err != nil {
			t.Fatalf("node %q: exec id is not unpadded URL-safe base64: %v", node, err)
		}
		if want := node + ":4242:1700000000000000123"; string(raw) != want {
			t.Errorf("node %q: exec id decodes to %q, want %q", node, raw, want)
		}
	}
}

func TestEnrichLinksExecForkExit(t *testing.T) {
	e := New("n1", proctree.New(proctree.DefaultConfig()), container.NewResolver(16))
	t0 := time.Unix(1700000000, 0)
	e.Seed([]*event.Process{{PID: 1, Binary: "/sbin/init", StartTime: t0, Cgroup: event.Cgroup{Path: "/"}}})

	fork := &event.Event{Kind: event.KindProcessFork, Time: t0.Add(time.Second),
		Process: &event.Process{PID: 50, PPID: 1, StartTime: t0.Add(time.Second)}}
	if e.Enrich(fork) {
		t.Error("a fork was passed on; forks only feed the tree")
	}
	exec := &event.Event{Kind: event.KindProcessExec, Time: t0.Add(2 * time.Second),
		Process: &event.Process{PID: 50, PPID: 1, Binary: "/usr/bin/nginx", StartTime: t0.Add(time.Second),
			Cgroup: event.Cgroup{Path: "/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}}
	if !e.Enrich(exec) {
		t.Fatal("exec not passed on")
	}
	if exec.Node != "n1" || exec.Parent == nil || exec.Parent.Binary != "/sbin/init" {
		t.Errorf("exec node %q parent %+v", exec.Node, exec.Parent)
	}
	if c := exec.Process.Container; c == nil || c.Runtime != "docker" {
		t.Errorf("container = %+v, want docker", c)
	}
	exit := &event.Event{Kind: event.KindProcessExit, Time: t0.Add(3 * time.Second),
		Process: &event.Process{PID: 50}, Exit: &event.Exit{}}
	e.Enrich(exit)
	if exit.Process != exec.Process || exit.Parent == nil {
		t.Errorf("exit process %+v, want the exec's process with its parent", exit.Process)
	}

	unknown := &event.Event{Kind: event.KindFileOpen, Time: t0, Process: &event.Process{PID: 999}}
	e.Enrich(unknown)
	if !unknown.Process.Partial || unknown.Process.Container == nil {
		t.Errorf("event of an unknown process = %+v, want partial with a container", unknown.Process)
	}
}

// TestVigilMarkedByFileNotName: processes running vigil's executable are
// marked, whatever they are called; a file of another device or inode is
// not, even named vigil; forks keep the mark.
func TestVigilMarkedByFileNotName(t *testing.T) {
	e := New("n1", proctree.New(proctree.DefaultConfig()), container.NewResolver(16))
	e.SetVigil(FileKey{Dev: 8<<20 | 1, Inode: 4242})
	t0 := time.Unix(1700000000, 0)
	own := &event.FileID{Dev: 8<<20 | 1, Inode: 4242}
	running := &event.Process{PID: 10, Binary: "/usr/local/bin/vigil", StartTime: t0, Executable: own}
	e.Seed([]*event.Process{running})
	if !running.IsVigil {
		t.Error("a running vigil from the snapshot is not marked")
	}
	cases := []struct {
		binary string
		exe    *event.FileID
		want   bool
	}{
		{"/tmp/x/renamed", own, true},
		{"/tmp/x/vigil", &event.FileID{Dev: 8<<20 | 1, Inode: 4243}, false},
		{"/usr/local/bin/vigil", &event.FileID{Dev: 8<<20 | 2, Inode: 4242}, false},
		{"/usr/local/bin/vigil", nil, false},
	}
	for i, c := range cases {
		pid := uint32(100 + i)
		exec := &event.Event{Kind: event.KindProcessExec, Time: t0.Add(time.Second),
			Process: &event.Process{PID: pid, Binary: c.binary, StartTime: t0, Executable: c.exe}}
		e.Enrich(exec)
		if exec.Process.IsVigil != c.want {
			t.Errorf("%s %+v: is_vigil %v, want %v", c.binary, c.exe, exec.Process.IsVigil, c.want)
		}
	}
	fork := &event.Event{Kind: event.KindProcessFork, Time: t0.Add(2 * time.Second),
		Process: &event.Process{PID: 200, PPID: 10, StartTime: t0.Add(2 * time.Second)}}
	e.Enrich(fork)
	open := &event.Event{Kind: event.KindFileOpen, Time: t0.Add(3 * time.Second), Process: &event.Process{PID: 200}}
	e.Enrich(open)
	if !open.Process.IsVigil {
		t.Error("a fork of vigil lost the mark")
	}
}

// TestNoVigilWithoutIdentity: without SetVigil nothing is marked, not even
// a file of inode 0.
func TestNoVigilWithoutIdentity(t *testing.T) {
	e := New("n1", proctree.New(proctree.DefaultConfig()), container.NewResolver(16))
	exec := &event.Event{Kind: event.KindProcessExec, Time: time.Unix(1700000000, 0),
		Process: &event.Process{PID: 5, Binary: "/usr/bin/vigil", Executable: &event.FileID{}}}
	e.Enrich(exec)
	if exec.Process.IsVigil {
		t.Error("marked as vigil without an identity")
	}
}
