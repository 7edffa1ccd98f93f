// Package io is the I/O observer: block I/O latency (a log2 histogram),
// bytes and operations by read and write per cgroup v2, counted in the
// kernel at block_io_start, block_rq_issue and block_rq_complete (tp_btf).
package io

import (
	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Observer is the loaded I/O observer.
type Observer struct{ observe.Object }

// Load loads and attaches the observer; cgroups sizes its per-cgroup
// table (0: observe.DefaultCgroups).
func Load(r *ring.Ring, cgroups int) (*Observer, error) {
	obj, err := observe.LoadObject(r, observe.IO, loadIo, cgroups)
	if err != nil {
		return nil, err
	}
	return &Observer{Object: obj}, nil
}

// Name is observe.IO.
func (o *Observer) Name() string { return observe.IO }

// Read adds every cgroup's block I/O figures.
func (o *Observer) Read(s *observe.Snapshot) error {
	err := observe.ReadPerCPU(o.Coll.Maps[ioMapStats], func(id uint64, per []ioIoStats) {
		st := s.Cgroup(id)
		for _, v := range per {
			st.IOLatency.Add(&v.Latency.Slots, v.Latency.SumNs)
			for op := range observe.OpCount {
				st.IOBytes[op] += v.Bytes[op]
				st.IOOps[op] += v.Ops[op]
			}
		}
	})
	if err != nil {
		return err
	}
	return observe.ReadLosses(observe.IO, o.Loaded, s)
}
