package metrics

import (
	"sync/atomic"
	"time"
)

// DurationHistogram counts durations into buckets whose bounds double from
// the first one, with atomics, so that a hot path can time every call
// without a lock; Snapshot is the Histogram a Collector exports.
type DurationHistogram struct {
	bounds []time.Duration
	counts []atomic.Uint64 // one per bound, and one above them all
	sumNs  atomic.Uint64
}

// NewDurationHistogram makes buckets bounds: first, 2×first, 4×first, ….
func NewDurationHistogram(first time.Duration, buckets int) *DurationHistogram {
	h := &DurationHistogram{bounds: make([]time.Duration, buckets), counts: make([]atomic.Uint64, buckets+1)}
	for i := range h.bounds {
		h.bounds[i] = first << i
	}
	return h
}

// Observe counts one duration.
func (h *DurationHistogram) Observe(d time.Duration) {
	i := 0
	for i < len(h.bounds) && d > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(max(d, 0)))
}

// Snapshot reads the counts, cumulative as Prometheus wants them. The
// buckets are read one by one while others may add: the total is their
// sum, so it never disagrees with them.
func (h *DurationHistogram) Snapshot() Histogram {
	out := Histogram{Bounds: make([]float64, len(h.bounds)), Counts: make([]uint64, len(h.bounds)),
		Sum: time.Duration(h.sumNs.Load()).Seconds()}
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i].Load()
		out.Bounds[i], out.Counts[i] = b.Seconds(), cum
	}
	out.Count = cum + h.counts[len(h.bounds)].Load()
	return out
}
