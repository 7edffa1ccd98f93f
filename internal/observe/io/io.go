// Package io is the I/O observer: block I/O latency (a log2 histogram),
// bytes and operations by read and write per cgroup v2, counted in the
// kernel at block_io_start, block_rq_issue and block_rq_complete (tp_btf).
// Where the block layer stamps a request's issue itself (its queue keeps
// statistics), block_rq_issue leaves the stamp to the kernel.
package io

import (
	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Observer is the loaded I/O observer.
type Observer = observe.Table[ioIoStats]

// Load loads and attaches the observer; cgroups sizes its per-cgroup
// table (0: observe.DefaultCgroups).
func Load(r *ring.Ring, cgroups int) (*Observer, error) {
	return load(r, cgroups, nil)
}

// load is Load with knobs (a test turns the block layer's stamp off).
func load(r *ring.Ring, cgroups int, knobs func() (map[string]any, error)) (*Observer, error) {
	return observe.LoadTable(r, cgroups, observe.TableSpec[ioIoStats]{Name: observe.IO, Load: loadIo, Add: add, Knobs: knobs})
}

// add adds a cgroup's block I/O figures.
func add(_ uint64, st *observe.Stats, per []ioIoStats) {
	for _, v := range per {
		st.IOLatency.Add(&v.Latency.Slots, v.Latency.SumNs)
		for op := range observe.OpCount {
			st.IOBytes[op] += v.Bytes[op]
			st.IOOps[op] += v.Ops[op]
		}
	}
}
