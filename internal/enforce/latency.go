package enforce

import (
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/execguard"
)

// LatencyBounds are the histogram's upper bounds: 100µs doubling up to
// about 1.6s.
var LatencyBounds = func() []time.Duration {
	out := make([]time.Duration, 15)
	for i := range out {
		out[i] = 100 * time.Microsecond << i
	}
	return out
}()

// LatencyHistogram counts latencies into LatencyBounds with atomics.
type LatencyHistogram struct {
	counts [16]atomic.Uint64 // the last one is above every bound
	sumNs  atomic.Uint64
}

// Observe counts one latency.
func (h *LatencyHistogram) Observe(d time.Duration) {
	i := 0
	for i < len(LatencyBounds) && d > LatencyBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(max(d, 0)))
}

// Snapshot returns the cumulative counts per bound, the total count and
// the sum.
func (h *LatencyHistogram) Snapshot() (cumulative []uint64, count uint64, sum time.Duration) {
	cumulative = make([]uint64, len(LatencyBounds))
	var c uint64
	for i := range LatencyBounds {
		c += h.counts[i].Load()
		cumulative[i] = c
	}
	return cumulative, c + h.counts[len(LatencyBounds)].Load(), time.Duration(h.sumNs.Load())
}

func itoa(pid uint32) string { return strconv.FormatUint(uint64(pid), 10) }

// stampOf is a file's version as the exec guard's Stamp holds it.
func stampOf(fi os.FileInfo) execguard.Stamp {
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st == nil {
		return execguard.Stamp{Size: fi.Size()}
	}
	return execguard.Stamp{MtimeSec: st.Mtim.Sec, MtimeNsec: uint32(st.Mtim.Nsec),
		CtimeSec: st.Ctim.Sec, CtimeNsec: uint32(st.Ctim.Nsec), Size: st.Size}
}
