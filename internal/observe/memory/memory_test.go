package memory

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/observe/observetest"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/wire"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(faultHelperEnv); path != "" {
		os.Exit(majfaultHelper(path))
	}
	testenv.Main(m)
}

// v1Root holds the v1 controllers' hierarchies on a hybrid host.
const v1Root = "/sys/fs/cgroup"

// memoryCgroup limits cg's memory to limit bytes: through memory.max where
// the v2 hierarchy has the memory controller, else through a v1 memory
// cgroup at the same relative path (this project's hybrid VMs), which
// the returned prefix puts a shell into before it runs anything.
func memoryCgroup(t *testing.T, cg testenv.Cgroup, limit int) (prefix string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(cg.Path, "memory.max")); err == nil {
		write(t, filepath.Join(cg.Path, "memory.max"), strconv.Itoa(limit))
		write(t, filepath.Join(cg.Path, "memory.swap.max"), "0")
		return ""
	}
	v1 := filepath.Join(v1Root, "memory", cg.Rel())
	if err := os.Mkdir(v1, 0o755); err != nil {
		testenv.Unavailable(t, "no memory controller in the v2 hierarchy and no v1 one: "+err.Error())
	}
	t.Cleanup(func() { observetest.RemoveCgroup(t, v1) })
	write(t, filepath.Join(v1, "memory.limit_in_bytes"), strconv.Itoa(limit))
	return "echo $$ > " + filepath.Join(v1, "cgroup.procs") + " && "
}

// loadWithCgroup loads the observer, reading cgroupfs, and makes a test
// cgroup limited to limit bytes (memoryCgroup, whose prefix it returns).
func loadWithCgroup(t *testing.T, limit int) (*Observer, testenv.Cgroup, string) {
	t.Helper()
	fs := observe.NewCgroupfs(testenvRoot(t), v1Root)
	o, err := Load(observetest.Ring(t), 0, fs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	cg := testenv.NewCgroup(t)
	return o, cg, memoryCgroup(t, cg, limit)
}

func write(t *testing.T, path, value string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// A process that keeps a 48 MiB string in a cgroup limited to 256 MiB:
// the cgroup's memory use, read from cgroupfs, covers the string once the
// process's own resident size (/proc/<pid>/status) does.
func TestMemoryUse(t *testing.T) {
	testenv.RequirePrivileged(t)
	o, cg, prefix := loadWithCgroup(t, 256<<20)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	cmd := observetest.StartWith(t, cg, pr, "sh", "-c", prefix+`exec perl -e '$x = "a" x (48<<20); print STDERR "ok\n"; <STDIN>'`)
	id := observetest.CgroupID(t, cg)
	var rss uint64
	s := observetest.Poll(t, o, "the process's memory in its cgroup", func(s *observe.Snapshot) bool {
		rss = residentBytes(cmd.Process.Pid)
		st := s.Cgroups[id]
		// the 48 MiB string is charged to the cgroup; the shared
		// libraries in VmRSS may be charged to whoever read them first
		return rss >= 48<<20 && st != nil && st.MemoryBytes >= 48<<20
	})
	st := s.Cgroups[id]
	t.Logf("cgroup (%s): %d bytes, %d major faults; the process's VmRSS %d bytes", st.MemoryReadFrom, st.MemoryBytes, st.MajorFaults, rss)
}

// A process that outgrows its cgroup's 32 MiB limit is OOM-killed: the
// test sees it die of SIGKILL, the cgroup's counter says one kill, and
// an oom_kill record names the victim's pid and cgroup.
func TestOOMKill(t *testing.T) {
	testenv.RequirePrivileged(t)
	r := observetest.Ring(t)
	o, err := Load(r, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	var (
		mu   sync.Mutex
		recs [][]byte
	)
	done := make(chan error, 1)
	go func() {
		done <- r.Read(func(raw []byte) {
			mu.Lock()
			recs = append(recs, bytes.Clone(raw))
			mu.Unlock()
		}, func() {})
	}()

	cg := testenv.NewCgroup(t)
	prefix := memoryCgroup(t, cg, 32<<20)
	cmd := exec.Command("sh", "-c", prefix+`exec perl -e '$x = "a" x (256<<20)'`)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the process outgrowing its limit ended with %v; want killed by SIGKILL", err)
	}
	victim := uint32(cmd.Process.Pid)
	id := observetest.CgroupID(t, cg)
	observetest.Poll(t, o, "an OOM kill in the cgroup", func(s *observe.Snapshot) bool {
		return s.Cgroups[id] != nil && s.Cgroups[id].OOMKills == 1
	})
	var got *event.Event
	dec := Decoder{Clock: func(uint64) time.Time { return time.Time{} }}
	deadline := time.Now().Add(testenv.WaitLimit)
	for got == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		for _, raw := range recs {
			if h, err := wire.ParseHeader(raw); err != nil || h.Kind != wire.OOMKill || h.Pid != victim {
				continue
			}
			if got, err = dec.Decode(raw); err != nil {
				t.Fatalf("decode oom_kill: %v", err)
			}
		}
		mu.Unlock()
	}
	if err := r.Stop(); err != nil {
		t.Error(err)
	}
	<-done
	if got == nil {
		t.Fatalf("no oom_kill record for pid %d", victim)
	}
	t.Logf("oom_kill: pid %d cgroup %d %+v", got.Process.PID, got.Process.Cgroup.ID, *got.OOM)
	if got.Kind != event.KindOOMKill || got.Process.Cgroup.ID != id || got.OOM.Comm != "perl" || got.OOM.TotalVMBytes < 32<<20 {
		t.Errorf("oom_kill %s of %q (%d bytes) in cgroup %d; want perl, over its 32 MiB limit, in %d",
			got.Kind, got.OOM.Comm, got.OOM.TotalVMBytes, got.Process.Cgroup.ID, id)
	}
}

// residentBytes is pid's VmRSS, 0 when unknown.
func residentBytes(pid int) uint64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func testenvRoot(t *testing.T) string {
	t.Helper()
	root, err := kernel.Cgroup2Root()
	if err != nil {
		testenv.Unavailable(t, err.Error())
	}
	return root
}
