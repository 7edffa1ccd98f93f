package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
)

// BenchmarkHoldPassThrough is what the hold adds to a record when a
// metadata source is configured and nothing is being looked up: the
// records of running processes (file opens) and the execs of containers
// already named. docs/benchmarks.md, "Kubernetes metadata".
func BenchmarkHoldPassThrough(b *testing.B) {
	res := container.NewResolver(container.DefaultTableSize)
	src := newAskedSource()
	res.Table().SetSource(src)
	h := newHolder(res)
	id := strings.Repeat("c", 64)
	path := "/kubepods/besteffort/pod0b5e6c2e-4a8f-4d8c-9a55-0f3c7e1d2a44/" + id
	res.Bind(path)
	res.Table().Settle(id)
	open := &event.Event{Kind: event.KindFileOpen, Process: &event.Process{PID: 4242}}
	exec := &event.Event{Kind: event.KindProcessExec, Process: &event.Process{PID: 4243, Cgroup: event.Cgroup{Path: path}}}
	now := time.Now()
	pass := func(*event.Event) {}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev := open
		if i%8 == 0 { // about one exec for every seven other records
			ev = exec
		}
		if h.holding() {
			h.release(now, pass)
		}
		if h.intercept(ev, pass) {
			b.Fatal("held a record of a named container")
		}
	}
}
