package kernel

import "testing"

// TestBootClockRoundTrip: BootNS undoes Time, so a kill can check a start
// time an event carried in wall-clock form against /proc's boot ticks.
func TestBootClockRoundTrip(t *testing.T) {
	c := NewBootClock()
	now := uint64(BootNanos())
	for _, ns := range []uint64{0, 1, now, now + 12345} {
		if got := c.BootNS(c.Time(ns)); got != ns {
			t.Errorf("BootNS(Time(%d)) = %d", ns, got)
		}
	}
}
