package network

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) {
	// re-executed as a helper: do its job and exit before any test runs
	if name := os.Getenv(helperEnv); name != "" {
		os.Exit(runHelper(name))
	}
	testenv.Main(m)
}

// record is one decoded record, with its raw bytes for the fuzz corpus.
type record struct {
	ev  *event.Event
	raw []byte
}

// watcher is a loaded network sensor and everything it reported.
type watcher struct {
	sensor *Sensor
	ring   *ring.Ring
	mu     sync.Mutex
	recs   []record
	errs   []error
}

// watch loads the sensor with its own ring and collects its records until
// the test ends. The test's own process is traced (no agent exemption).
func watch(t *testing.T, cfg Config) *watcher {
	t.Helper()
	testenv.RequirePrivileged(t)
	r, err := ring.New(ring.DefaultConfig())
	if err != nil {
		t.Fatalf("ring: %v", err)
	}
	s, err := Load(r, cfg)
	if err != nil {
		r.Close()
		t.Fatalf("load: %v", err)
	}
	w := &watcher{sensor: s, ring: r}
	clock := kernel.NewBootClock()
	dec := Decoder{Clock: clock.Time}
	done := make(chan error, 1)
	go func() {
		done <- r.Read(func(raw []byte) {
			ev, err := dec.Decode(raw)
			w.mu.Lock()
			defer w.mu.Unlock()
			if err != nil {
				w.errs = append(w.errs, err)
				return
			}
			w.recs = append(w.recs, record{ev: ev, raw: append([]byte(nil), raw...)})
		}, func() {})
	}()
	t.Cleanup(func() {
		if n, err := s.Misses(); err != nil || n != 0 {
			t.Errorf("the kernel skipped %d program runs (%v)", n, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close sensor: %v", err)
		}
		if err := r.Stop(); err != nil {
			t.Errorf("stop ring: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("read ring: %v", err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("close ring: %v", err)
		}
		for _, err := range w.errs {
			t.Errorf("undecodable record: %v", err)
		}
	})
	return w
}

func (w *watcher) find(match func(*event.Event) bool) []record {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []record
	for _, r := range w.recs {
		if match(r.ev) {
			out = append(out, r)
		}
	}
	return out
}

// waitFor returns the first event that matches, failing the test when
// none arrives within testenv.WaitLimit.
func (w *watcher) waitFor(t *testing.T, what string, match func(*event.Event) bool) *event.Event {
	t.Helper()
	return w.waitForRecord(t, what, match).ev
}

func (w *watcher) waitForRecord(t *testing.T, what string, match func(*event.Event) bool) record {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		if found := w.find(match); len(found) > 0 {
			capture(t, what, found[0].raw)
			return found[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event within %v", what, testenv.WaitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// of matches events of kind from process pid.
func of(kind event.Kind, pid int, more func(*event.Event) bool) func(*event.Event) bool {
	return func(ev *event.Event) bool {
		return ev.Kind == kind && ev.Process.PID == uint32(pid) && (more == nil || more(ev))
	}
}
