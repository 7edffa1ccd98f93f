package network

import (
	"os"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/sensortest"
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
	*sensortest.Watcher
	sensor *Sensor
	ring   *ring.Ring
}

// watch loads the sensor with its own ring and collects its records until
// the test ends. The test's own process is traced (no agent exemption).
func watch(t *testing.T, cfg Config) *watcher {
	t.Helper()
	return watchScoped(t, cfg, ring.Scope{})
}

// watchScoped is watch with the ring's scope: one cgroup's tasks only.
func watchScoped(t *testing.T, cfg Config, scope ring.Scope) *watcher {
	t.Helper()
	dec := Decoder{Clock: kernel.NewBootClock().Time}
	opts := sensortest.Options{Decode: dec.Decode, Ring: ring.Config{Scope: scope}}
	s, sw := sensortest.Start(t, opts, func(r *ring.Ring) (*Sensor, error) {
		return Load(r, cfg)
	})
	t.Cleanup(func() { // before the sensor is closed
		if n, err := s.Misses(); err != nil || n != 0 {
			t.Errorf("the kernel skipped %d program runs (%v)", n, err)
		}
	})
	return &watcher{Watcher: sw, sensor: s, ring: sw.Ring()}
}

// records are the records so far, in ring order.
func (w *watcher) records() []record {
	return records(w.Records())
}

func (w *watcher) find(match func(*event.Event) bool) []record {
	return records(w.Find(match))
}

func records(recs []sensortest.Record) []record {
	out := make([]record, len(recs))
	for i, r := range recs {
		out[i] = record{ev: r.Event, raw: r.Raw}
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
	r, ok := w.WaitFor(match)
	if !ok {
		t.Fatalf("no %s event within %v", what, testenv.WaitLimit)
	}
	capture(t, what, r.Raw)
	return record{ev: r.Event, raw: r.Raw}
}

// of matches events of kind from process pid.
func of(kind event.Kind, pid int, more func(*event.Event) bool) func(*event.Event) bool {
	return func(ev *event.Event) bool {
		return ev.Kind == kind && ev.Process.PID == uint32(pid) && (more == nil || more(ev))
	}
}
