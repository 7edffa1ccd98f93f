package enrich

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proctree"
)

// TestLateMetadataReachesLaterEvents: a pod's name, learnt after its
// container's first exec, is on every event enriched afterwards (the
// process's own and, as the parent, its children's) and on none enriched
// before, however late that one is encoded.
func TestLateMetadataReachesLaterEvents(t *testing.T) {
	const (
		id  = "3f2a4c6e8b0d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a"
		uid = "8d7c6b5a-4f3e-2d1c-0b9a-8f7e6d5c4b3a"
	)
	cgroup := event.Cgroup{ID: 77, Path: "/kubepods/burstable/pod" + uid + "/" + id}
	resolver := container.NewResolver(16)
	e := New("n1", proctree.New(proctree.DefaultConfig()), resolver)
	t0 := time.Unix(1700000000, 0)
	e.Seed([]*event.Process{{PID: 1, Binary: "/sbin/init", StartTime: t0, Cgroup: event.Cgroup{Path: "/"}}})

	exec := &event.Event{Kind: event.KindProcessExec, Time: t0.Add(time.Second),
		Process: &event.Process{PID: 50, PPID: 1, Binary: "/bin/sh", StartTime: t0.Add(time.Second), Cgroup: cgroup}}
	e.Enrich(exec)
	early := &event.Event{Kind: event.KindFileOpen, Time: t0.Add(2 * time.Second), Process: &event.Process{PID: 50}}
	e.Enrich(early)

	resolver.Table().Update(id, func(c *event.Container) {
		c.Name = "web"
		c.Pod = &event.Pod{UID: c.Pod.UID, Name: "web-7d9", Namespace: "shop"}
	})

	late := &event.Event{Kind: event.KindFileOpen, Time: t0.Add(3 * time.Second), Process: &event.Process{PID: 50}}
	e.Enrich(late)
	fork := &event.Event{Kind: event.KindProcessFork, Time: t0.Add(4 * time.Second),
		Process: &event.Process{PID: 51, PPID: 50, StartTime: t0.Add(4 * time.Second), Cgroup: cgroup}}
	e.Enrich(fork)
	child := &event.Event{Kind: event.KindProcessExec, Time: t0.Add(5 * time.Second),
		Process: &event.Process{PID: 51, PPID: 50, Binary: "/usr/bin/curl", StartTime: t0.Add(4 * time.Second), Cgroup: cgroup}}
	e.Enrich(child)
	grandchild := &event.Event{Kind: event.KindProcessExec, Time: t0.Add(6 * time.Second),
		Process: &event.Process{PID: 52, PPID: 51, Binary: "/bin/true", StartTime: t0.Add(6 * time.Second), Cgroup: cgroup}}
	e.Enrich(grandchild)

	for _, c := range []struct {
		name string
		ev   *event.Event
		want []string // in the JSON
		not  []string
	}{
		{"exec, before", exec, []string{`"process":{"pid":50`, `"pod":{"uid":"` + uid + `"}`}, []string{`web`}},
		{"file_open, before", early, []string{`"pod":{"uid":"` + uid + `"}`}, []string{`web`}},
		{"file_open, after", late, []string{`"name":"web"`, `"name":"web-7d9","namespace":"shop"`}, nil},
		{"child exec", child, []string{`"parent":{"pid":50`, `"name":"web-7d9"`}, nil},
	} {
		raw, err := c.ev.AppendJSON(nil) // encoded after the update, as a slow output would
		if err != nil {
			t.Fatal(err)
		}
		js := string(raw)
		for _, w := range c.want {
			if !strings.Contains(js, w) {
				t.Errorf("%s: %s missing from %s", c.name, w, js)
			}
		}
		for _, w := range c.not {
			if strings.Contains(js, w) {
				t.Errorf("%s: %s invented in %s", c.name, w, js)
			}
		}
	}
	if p := child.Parent; p == nil || p.Container.Pod.Name != "web-7d9" {
		t.Errorf("child's parent = %+v", p)
	}
	if c := child.Process.Container; c == nil || c.Pod.Namespace != "shop" {
		t.Errorf("child's container = %+v", c)
	}
	if p := grandchild.Parent; p == nil || p.PID != 51 || p.Container.Name != "web" {
		t.Errorf("grandchild's parent = %+v", p)
	}
	if len(grandchild.Ancestors) == 0 || grandchild.Ancestors[0].PID != 50 {
		t.Errorf("grandchild's ancestors = %+v, want the shell first", grandchild.Ancestors)
	}
}
