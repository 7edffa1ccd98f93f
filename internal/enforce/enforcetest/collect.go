package enforcetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Collector reads a ring on a goroutine of its own and keeps a copy of
// every record. Set the hooks, then Start; the test's end stops it.
type Collector struct {
	// OnRecord, when set, sees each record on the reading goroutine (a
	// copy, which the collector keeps unless OnRecord returns false).
	OnRecord func(raw []byte) bool
	// OnIdle, when set, runs on the reading goroutine whenever the ring
	// has been drained after a quiet flush interval.
	OnIdle func()

	tb   testing.TB
	r    *ring.Ring
	done chan error // nil while not reading

	mu   sync.Mutex
	raws [][]byte
}

// Collect makes a collector of r; it is stopped before r is closed, when
// r comes from NewRing.
func Collect(tb testing.TB, r *ring.Ring) *Collector {
	c := &Collector{tb: tb, r: r}
	tb.Cleanup(c.Stop)
	return c
}

// Start reads the ring, unless it is being read.
func (c *Collector) Start() {
	if c.done != nil {
		return
	}
	done := make(chan error, 1)
	c.done = done
	go func() { done <- c.r.Read(c.handle, c.idle) }()
}

func (c *Collector) handle(raw []byte) {
	raw = bytes.Clone(raw)
	if _, err := wire.ParseHeader(raw); err != nil {
		c.tb.Errorf("record does not parse: %v\n%q", err, raw)
		return
	}
	if c.OnRecord != nil && !c.OnRecord(raw) {
		return
	}
	c.mu.Lock()
	c.raws = append(c.raws, raw)
	c.mu.Unlock()
}

func (c *Collector) idle() {
	if c.OnIdle != nil {
		c.OnIdle()
	}
}

// Stop stops reading once every record already in the ring is collected.
func (c *Collector) Stop() {
	if c.done == nil {
		return
	}
	if err := c.r.Stop(); err != nil {
		c.tb.Error(err)
	}
	if err := <-c.done; err != nil {
		c.tb.Error(err)
	}
	c.done = nil
}

// Records are the records of pid, all of them once pid has exited:
// reading stops until every record in the ring is collected, then goes on.
func (c *Collector) Records(pid int) [][]byte {
	c.Start()
	c.Stop()
	defer c.Start()
	return c.of(pid)
}

// WaitFor waits until there are n records of pid, which may still run;
// false when there are fewer after a deadline that only bounds a test that
// would otherwise hang.
func (c *Collector) WaitFor(pid, n int) bool {
	deadline := time.Now().Add(testenv.WaitLimit)
	for len(c.of(pid)) < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func (c *Collector) of(pid int) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][]byte
	for _, raw := range c.raws {
		if h, err := wire.ParseHeader(raw); err == nil && h.Pid == uint32(pid) {
			out = append(out, raw)
		}
	}
	return out
}
