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
	rc := ring.DefaultConfig()
	rc.IdleInterval = time.Hour
	rc.Scope = ring.Scope{CgroupID: id, CgroupLevel: level}
	r, err := ring.New(rc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dir := t.TempDir()
	target := filepath.Join(dir, "watched")
	if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := file.Load(r, file.Config{Watch: []string{dir}, Exact: []string{}, WatchWrites: []string{},
		Components: []string{}, ComponentWrites: []string{}, ExecDirs: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var records, idles atomic.Int64
	done := make(chan error, 1)
	go func() {
		done <- r.Read(func([]byte) { records.Add(1) }, func() { idles.Add(1) })
	}()

	for round := 1; round <= 3; round++ {
		waitUntil(t, "the reader to go to sleep", func() bool {
			asleep, err := r.ReaderAsleep()
			if err != nil {
				t.Fatal(err)
			}
			return asleep
		})
		before, idleBefore := records.Load(), idles.Load()
		cat := exec.Command("/bin/cat", target)
		cat.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
		if out, err := cat.CombinedOutput(); err != nil {
			t.Fatalf("cat: %v: %s", err, out)
		}
		waitUntil(t, "the open to be read", func() bool { return records.Load() > before })
		// the reader flushes once the records that woke it are handled
		waitUntil(t, "idle after the record", func() bool { return idles.Load() > idleBefore })
	}

	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testenv.WaitLimit):
		t.Fatal("Read did not return after Stop while asleep")
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
