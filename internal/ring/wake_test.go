package ring_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/file"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSleepingReaderIsWokenByTheKernel: once the ring stays empty for a
// FlushInterval, the reader has no timer shorter than IdleInterval (an hour
// here), so each record below can only arrive because the kernel woke the
// reader for it. Rounds repeat it: every wake-up clears the flag, and every
// quiet interval sets it again.
func TestSleepingReaderIsWokenByTheKernel(t *testing.T) {
	rc := ring.DefaultConfig()
	rc.IdleInterval = time.Hour
	w := startWatched(t, rc)
	for round := 1; round <= 3; round++ {
		waitUntil(t, "the reader to go to sleep", func() bool {
			asleep, err := w.r.ReaderAsleep()
			if err != nil {
				t.Fatal(err)
			}
			return asleep
		})
		idleBefore := w.idles.Load()
		w.catAndWait(t)
		// the reader flushes once the records that woke it are handled
		waitUntil(t, "idle after the record", func() bool { return w.idles.Load() > idleBefore })
	}
	w.stop(t)
}

// TestLingeringReaderDrainsOnItsTimer: with SleepAfter and IdleInterval an
// hour, the reader never asks the kernel for a wake-up, so each record
// below can only reach it through its FlushInterval timer, which goes on
// through the quiet stretches between the opens.
func TestLingeringReaderDrainsOnItsTimer(t *testing.T) {
	rc := ring.DefaultConfig()
	rc.IdleInterval, rc.SleepAfter = time.Hour, time.Hour
	w := startWatched(t, rc)
	for round := 1; round <= 3; round++ {
		idleBefore := w.idles.Load()
		w.catAndWait(t)
		waitUntil(t, "idle after the record", func() bool { return w.idles.Load() > idleBefore })
		if asleep, err := w.r.ReaderAsleep(); err != nil || asleep {
			t.Fatalf("round %d: reader asleep = %v (%v), want the timer to go on", round, asleep, err)
		}
	}
	w.stop(t)
}

// watched is a ring scoped to a test cgroup, a file sensor watching one
// file, and a reader counting records and idle calls.
type watched struct {
	r              *ring.Ring
	sensor         interface{ Close() error }
	cg             testenv.Cgroup
	target         string
	records, idles atomic.Int64
	done           chan error
}

func startWatched(t *testing.T, rc ring.Config) *watched {
	t.Helper()
	testenv.RequirePrivileged(t)
	cg := testenv.NewCgroup(t)
	id, err := kernel.CgroupID(cg.Path)
	if err != nil {
		t.Fatal(err)
	}
	level, err := kernel.CgroupLevel(cg.Root, cg.Path)
	if err != nil {
		t.Fatal(err)
	}
	rc.Scope = ring.Scope{CgroupID: id, CgroupLevel: level}
	r, err := ring.New(rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	dir := t.TempDir()
	w := &watched{r: r, cg: cg, target: filepath.Join(dir, "watched"), done: make(chan error, 1)}
	if err := os.WriteFile(w.target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := file.Load(r, file.Config{Watch: []string{dir}, Exact: []string{}, WatchWrites: []string{},
		Components: []string{}, ComponentWrites: []string{}, ExecDirs: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	w.sensor = s
	go func() {
		w.done <- r.Read(func([]byte) { w.records.Add(1) }, func() { w.idles.Add(1) })
	}()
	return w
}

// catAndWait opens the watched file from the test cgroup and waits until
// the reader handled a record more.
func (w *watched) catAndWait(t *testing.T) {
	t.Helper()
	before := w.records.Load()
	cat := exec.Command("/bin/cat", w.target)
	cat.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: w.cg.FD}
	if out, err := cat.CombinedOutput(); err != nil {
		t.Fatalf("cat: %v: %s", err, out)
	}
	waitUntil(t, "the open to be read", func() bool { return w.records.Load() > before })
}

// stop detaches the sensor and checks that Read returns.
func (w *watched) stop(t *testing.T) {
	t.Helper()
	if err := w.sensor.Close(); err != nil {
		t.Error(err)
	}
	if err := w.r.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testenv.WaitLimit):
		t.Fatal("Read did not return after Stop")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", testenv.WaitLimit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
