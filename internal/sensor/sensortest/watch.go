// Package sensortest is the machinery the sensors' kernel tests share, as
// internal/enforce/enforcetest is the guards': a ring of the test's own
// (scoped to a cgroup when the test asks), a sensor loaded on it, every
// record it writes read into memory (and decoded as it arrives, given a
// decoder), waiting for a matching event within testenv.WaitLimit, and
// fuzz seeds captured from the records the kernel wrote. It is imported
// only by tests; what is particular to one sensor stays in its tests.
package sensortest

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// Record is one record the sensor wrote, decoded when the watcher has a
// decoder, with its raw bytes for the fuzz corpus.
type Record struct {
	Event *event.Event
	Raw   []byte
}

// Options say how to watch.
type Options struct {
	// Ring configures the test's ring; a zero Size means
	// ring.DefaultConfig with Ring.Scope.
	Ring ring.Config
	// Decode, when set, decodes each record as it arrives; a record that
	// does not decode fails the test when it ends.
	Decode sensor.Decode
	// Delay is how long the reader takes per record: slow on purpose, to
	// fill the ring.
	Delay time.Duration
}

// Watcher is a loaded sensor on a ring of its own and everything it wrote.
type Watcher struct {
	tb      testing.TB
	ring    *ring.Ring
	sensor  io.Closer
	decode  sensor.Decode
	delay   time.Duration
	done    chan error
	stopped bool

	mu   sync.Mutex
	recs []Record
	errs []error
}

// Start checks that the test may load programs (testenv.RequirePrivileged),
// makes its ring, loads the sensor on it with load and reads the ring
// until Stop or the test's end. The test's own process is traced: the
// ring exempts no agent.
func Start[S io.Closer](tb testing.TB, opts Options, load func(*ring.Ring) (S, error)) (S, *Watcher) {
	tb.Helper()
	testenv.RequirePrivileged(tb)
	rc := opts.Ring
	if rc.Size == 0 {
		scope := rc.Scope
		rc = ring.DefaultConfig()
		rc.Scope = scope
	}
	r, err := ring.New(rc)
	if err != nil {
		tb.Fatalf("ring: %v", err)
	}
	s, err := load(r)
	if err != nil {
		_ = r.Close() // best effort: err is what failed
		tb.Fatalf("load: %v", err)
	}
	w := &Watcher{tb: tb, ring: r, sensor: s, decode: opts.Decode, delay: opts.Delay, done: make(chan error, 1)}
	go func() { w.done <- r.Read(w.add, func() {}) }()
	tb.Cleanup(func() {
		w.Stop()
		if err := r.Close(); err != nil {
			tb.Errorf("close ring: %v", err)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, err := range w.errs {
			tb.Errorf("undecodable record: %v", err)
		}
	})
	return s, w
}

func (w *Watcher) add(raw []byte) {
	if w.delay > 0 {
		time.Sleep(w.delay)
	}
	rec := Record{Raw: bytes.Clone(raw)}
	var err error
	if w.decode != nil {
		rec.Event, err = w.decode(raw)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.errs = append(w.errs, err)
		return
	}
	w.recs = append(w.recs, rec)
}

// Ring is the watcher's ring, for its loss counters.
func (w *Watcher) Ring() *ring.Ring { return w.ring }

// Stop detaches the sensor and drains the ring: every record the sensor
// wrote is in after (ring.Stop flushes the reader, which hands over every
// record already submitted; no wait for a flush interval). Later calls do
// nothing.
func (w *Watcher) Stop() {
	w.tb.Helper()
	if w.stopped {
		return
	}
	w.stopped = true
	if err := w.sensor.Close(); err != nil {
		w.tb.Errorf("close sensor: %v", err)
	}
	if err := w.ring.Stop(); err != nil {
		w.tb.Errorf("stop ring: %v", err)
	}
	if err := <-w.done; err != nil {
		w.tb.Errorf("read ring: %v", err)
	}
}

// Records are the records so far, in ring order.
func (w *Watcher) Records() []Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Record(nil), w.recs...)
}

// Raws are the raw records so far, in ring order.
func (w *Watcher) Raws() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([][]byte, len(w.recs))
	for i, r := range w.recs {
		out[i] = r.Raw
	}
	return out
}

// Find returns the decoded records whose event matches, in ring order.
func (w *Watcher) Find(match func(*event.Event) bool) []Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Record
	for _, r := range w.recs {
		if r.Event != nil && match(r.Event) {
			out = append(out, r)
		}
	}
	return out
}

// WaitFor returns the first decoded record whose event matches; false when
// none arrives within testenv.WaitLimit, a deadline that only bounds a
// test that would otherwise hang.
func (w *Watcher) WaitFor(match func(*event.Event) bool) (Record, bool) {
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		if found := w.Find(match); len(found) > 0 {
			return found[0], true
		}
		if time.Now().After(deadline) {
			return Record{}, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// CgroupScope is the ring scope of cgroup cg: its tasks' records only, and
// their losses only.
func CgroupScope(tb testing.TB, cg testenv.Cgroup) ring.Scope {
	tb.Helper()
	id, err := kernel.CgroupID(cg.Path)
	if err != nil {
		tb.Fatal(err)
	}
	level, err := kernel.CgroupLevel(cg.Root, cg.Path)
	if err != nil {
		tb.Fatal(err)
	}
	return ring.Scope{CgroupID: id, CgroupLevel: level}
}
