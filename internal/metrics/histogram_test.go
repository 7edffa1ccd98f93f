package metrics

import (
	"slices"
	"testing"
	"time"
)

func TestDurationHistogram(t *testing.T) {
	h := NewDurationHistogram(time.Microsecond, 3) // 1, 2, 4 µs, and above
	for _, d := range []time.Duration{0, time.Microsecond, 1500 * time.Nanosecond, 3 * time.Microsecond, time.Second} {
		h.Observe(d)
	}
	s := h.Snapshot()
	if !slices.Equal(s.Bounds, []float64{1e-6, 2e-6, 4e-6}) || !slices.Equal(s.Counts, []uint64{2, 3, 4}) || s.Count != 5 {
		t.Errorf("snapshot = %+v", s)
	}
	if want := (time.Second + 5500*time.Nanosecond).Seconds(); s.Sum != want {
		t.Errorf("sum = %v, want %v", s.Sum, want)
	}
}
