package file

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/sensortest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) {
	// re-executed as a helper: do its job and exit before any test runs
	if job := os.Getenv(helperEnv); job != "" {
		os.Exit(runHelper(job))
	}
	testenv.Main(m)
}

// record is one decoded record with its raw bytes, for the fuzz corpus.
type record struct {
	ev  *event.Event
	raw []byte
}

// watcher is a loaded file sensor and everything it reported.
type watcher struct {
	*sensortest.Watcher
	sensor *Sensor
	ring   *ring.Ring
}

// only is a Config that watches exactly what it is given: no defaults.
func only(c Config) Config {
	for _, l := range []*[]string{&c.Watch, &c.Exact, &c.WatchWrites, &c.Components, &c.ComponentWrites, &c.ExecDirs,
		&c.FileWrites, &c.DeleteDirs, &c.SetidDirs, &c.HiddenDirs} {
		if *l == nil {
			*l = []string{}
		}
	}
	return c
}

// watch loads the sensor with its own ring and collects its records until
// the test ends. The test's own process is traced (no agent exemption).
func watch(t *testing.T, cfg Config) *watcher {
	t.Helper()
	return watchRing(t, cfg, ring.DefaultConfig(), 0)
}

// watchRing is watch with a ring of one's own making, and a consumer that
// takes delay per record: slow on purpose, to fill the ring.
func watchRing(t *testing.T, cfg Config, rc ring.Config, delay time.Duration) *watcher {
	t.Helper()
	dec := Decoder{Clock: kernel.NewBootClock().Time}
	opts := sensortest.Options{Ring: rc, Decode: dec.Decode, Delay: delay}
	s, sw := sensortest.Start(t, opts, func(r *ring.Ring) (*Sensor, error) { return Load(r, cfg) })
	return &watcher{Watcher: sw, sensor: s, ring: sw.Ring()}
}

// stop detaches the sensor and drains the ring: every record is in after.
func (w *watcher) stop() { w.Stop() }

func (w *watcher) find(match func(*event.Event) bool) []record {
	var out []record
	for _, r := range w.Find(match) {
		out = append(out, record{ev: r.Event, raw: r.Raw})
	}
	return out
}

// waitFor returns the first event that matches, failing the test when
// none arrives within testenv.WaitLimit. what names the seed the record is captured as.
func (w *watcher) waitFor(t *testing.T, what string, match func(*event.Event) bool) *event.Event {
	t.Helper()
	r, ok := w.WaitFor(match)
	if !ok {
		t.Fatalf("no %s event within %v; have %s", what, testenv.WaitLimit, w.summary())
	}
	capture(t, what, r.Raw)
	return r.Event
}

// none fails the test if any event so far matches. Call it after waiting
// for a later event of the same thread: records arrive in the order the
// kernel reserved them.
func (w *watcher) none(t *testing.T, what string, match func(*event.Event) bool) {
	t.Helper()
	if found := w.find(match); len(found) > 0 {
		t.Errorf("unexpected %s event: %+v %+v", what, found[0].ev.Syscall, found[0].ev.File)
	}
}

func (w *watcher) summary() string {
	recs := w.find(func(*event.Event) bool { return true })
	var b strings.Builder
	fmt.Fprintf(&b, "%d records", len(recs))
	for i, r := range recs {
		if i == 20 {
			b.WriteString(" …")
			break
		}
		fmt.Fprintf(&b, "\n  %s %s %q -> %q", r.ev.Kind, r.ev.Syscall.Name, r.ev.File.Path, r.ev.File.NewPath)
	}
	return b.String()
}

// at matches events of kind about path, from this process.
func at(kind event.Kind, path string) func(*event.Event) bool {
	pid := uint32(os.Getpid())
	return func(ev *event.Event) bool {
		return ev.Kind == kind && ev.Process.PID == pid && ev.File.Path == path
	}
}

// tempDir is a fresh directory with symlinks resolved, as the kernel names it.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// capture saves a real record as a seed of FuzzDecodeFile.
func capture(t *testing.T, what string, raw []byte) {
	t.Helper()
	sensortest.Seed(t, "FuzzDecodeFile", sensortest.SeedName(t, what), raw)
}
