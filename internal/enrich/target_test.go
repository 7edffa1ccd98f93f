package enrich

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proctree"
)

func TestResolveTarget(t *testing.T) {
	e := New("n1", proctree.New(proctree.DefaultConfig()), container.NewResolver(16))
	t0 := time.Unix(1700000000, 0)
	e.Seed([]*event.Process{{PID: 70, Binary: "/usr/bin/sleep", StartTime: t0, Cgroup: event.Cgroup{Path: "/"}}})
	sleep := e.tree.Get(70)

	for _, tc := range []struct {
		name   string
		target event.Target
		want   event.Target
	}{
		{"binary from the kernel, exec id from the tree",
			event.Target{PID: 70, Binary: "/usr/bin/sleep"},
			event.Target{PID: 70, Binary: "/usr/bin/sleep", ExecID: sleep.ExecID}},
		{"binary and exec id from the tree",
			event.Target{PID: 70},
			event.Target{PID: 70, Binary: "/usr/bin/sleep", ExecID: sleep.ExecID}},
		{"the tree remembers another binary: an older process",
			event.Target{PID: 70, Binary: "/usr/bin/cat"},
			event.Target{PID: 70, Binary: "/usr/bin/cat"}},
		{"unknown pid",
			event.Target{PID: 71, Binary: "/usr/bin/cat"},
			event.Target{PID: 71, Binary: "/usr/bin/cat"}},
	} {
		ev := &event.Event{Kind: event.KindPtrace, Target: &tc.target}
		e.resolveTarget(ev)
		if *ev.Target != tc.want {
			t.Errorf("%s: target = %+v, want %+v", tc.name, *ev.Target, tc.want)
		}
	}
	e.resolveTarget(&event.Event{Kind: event.KindMount}) // no target: nothing to do
}
