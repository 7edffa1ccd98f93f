// Package io is the I/O observer: block I/O latency (a log2 histogram),
// bytes and operations by read and write per cgroup v2, counted in the
// kernel at block_io_start, block_rq_issue and block_rq_complete (tp_btf).
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
	return observe.LoadTable(r, cgroups, observe.TableSpec[ioIoStats]{Name: observe.IO, Load: loadIo, Add: add})
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
