package kernel

import (
	"time"

	"golang.org/x/sys/unix"
)

// BootClock turns kernel timestamps (bpf_ktime_get_boot_ns, a task's
// start_boottime) into wall-clock time. Boot time counts suspend, unlike
// the monotonic clock, so the offset to wall time stays fixed unless the
// wall clock itself is stepped; Resync takes such a step into account.
type BootClock struct {
	offset int64 // wall ns minus boot ns
}

// NewBootClock measures the offset between the boot and the wall clock.
func NewBootClock() *BootClock {
	c := &BootClock{}
	c.Resync()
	return c
}

// Resync measures the offset again; call it now and then, off the hot path.
func (c *BootClock) Resync() {
	// Read boot time between two wall-clock reads and keep the pair that
	// was closest together: the offset is then off by at most that gap.
	best := int64(-1)
	for i := 0; i < 3; i++ {
		before := time.Now().UnixNano()
		boot := BootNanos()
		after := time.Now().UnixNano()
		if gap := after - before; best < 0 || gap < best {
			best = gap
			c.offset = before + gap/2 - boot
		}
	}
}

// Time converts boot-clock nanoseconds to wall-clock time (UTC).
func (c *BootClock) Time(bootNS uint64) time.Time {
	return time.Unix(0, int64(bootNS)+c.offset).UTC()
}

// BootNS converts a wall-clock time back to boot-clock nanoseconds (0 for
// a time before boot).
func (c *BootClock) BootNS(t time.Time) uint64 {
	return uint64(max(t.UnixNano()-c.offset, 0))
}

// BootNanos reads CLOCK_BOOTTIME, the clock bpf_ktime_get_boot_ns uses.
func BootNanos() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) // cannot fail for a valid clock id
	return ts.Nano()
}
