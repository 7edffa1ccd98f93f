// Package io is the I/O observer: block I/O latency (a log2 histogram),
// bytes and operations by read and write per cgroup v2, counted in the
// kernel at block_io_start, block_rq_issue and block_rq_complete (tp_btf).
// Where the block layer stamps a request's issue itself (its queue keeps
// statistics), block_rq_issue leaves it to the kernel (stamp.go).
package io

import (
	"fmt"

	"github.com/cilium/ebpf/btf"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Observer is the loaded I/O observer.
type Observer = observe.Table[ioIoStats]

// Load loads and attaches the observer; cgroups sizes its per-cgroup
// table (0: observe.DefaultCgroups).
func Load(r *ring.Ring, cgroups int) (*Observer, error) {
	return load(r, cgroups, knobs)
}

// load is Load with the stamp bits of withKnobs (a test makes the
// programs stamp every request themselves).
func load(r *ring.Ring, cgroups int, withKnobs func() (map[string]any, error)) (*Observer, error) {
	return observe.LoadTable(r, cgroups, observe.TableSpec[ioIoStats]{Name: observe.IO, Load: loadIo, Add: add, Knobs: withKnobs})
}

// knobs are the bits of the block layer's own issue stamp (stampBits).
func knobs() (map[string]any, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("kernel BTF: %w", err)
	}
	q, rq, err := stampBits(spec)
	if err != nil {
		return nil, err
	}
	return map[string]any{ioVarQueueStatsBit: q, ioVarRqStatsBit: rq}, nil
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
