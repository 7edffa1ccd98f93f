package file

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	if job := os.Getenv(helperEnv); job != "" {
		os.Exit(runHelper(job))
	}
	testenv.Main(m)
}

var captureFlag = flag.Bool("capture", false, "write the records the tests wait for to testdata/fuzz as fuzz seeds")

// record is one decoded record with its raw bytes, for the fuzz corpus.
type record struct {
	ev  *event.Event
	raw []byte
}

// watcher is a loaded file sensor and everything it reported.
type watcher struct {
	sensor *Sensor
	ring   *ring.Ring
	stop   func() // detaches and drains: every record is in recs after
	mu     sync.Mutex
	recs   []record
	errs   []error
}

// only is a Config that watches exactly what it is given: no defaults.
func only(c Config) Config {
	for _, l := range []*[]string{&c.Watch, &c.Exact, &c.WatchWrites, &c.Components, &c.ComponentWrites, &c.ExecDirs} {
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
	testenv.RequirePrivileged(t)
	r, err := ring.New(rc)
	if err != nil {
		t.Fatalf("ring: %v", err)
	}
	s, err := Load(r, cfg)
	if err != nil {
		r.Close()
		t.Fatalf("load: %v", err)
	}
	w := &watcher{sensor: s, ring: r}
	dec := Decoder{Clock: kernel.NewBootClock().Time}
	done := make(chan error, 1)
	go func() {
		done <- r.Read(func(raw []byte) {
			if delay > 0 {
				time.Sleep(delay)
			}
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
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		if err := s.Close(); err != nil {
			t.Errorf("close sensor: %v", err)
		}
		if err := r.Stop(); err != nil {
			t.Errorf("stop ring: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("read ring: %v", err)
		}
	}
	w.stop = stop
	t.Cleanup(func() {
		stop()
		if err := r.Close(); err != nil {
			t.Errorf("close ring: %v", err)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
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
// none arrives within testenv.WaitLimit. what names the seed the record is captured as.
func (w *watcher) waitFor(t *testing.T, what string, match func(*event.Event) bool) *event.Event {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		if found := w.find(match); len(found) > 0 {
			capture(t, what, found[0].raw)
			return found[0].ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event within %v; have %s", what, testenv.WaitLimit, w.summary())
		}
		time.Sleep(5 * time.Millisecond)
	}
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
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%d records", len(w.recs))
	for i, r := range w.recs {
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
	if !*captureFlag {
		return
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '-'
	}, t.Name()+"-"+what)
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeFile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", raw)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
}
