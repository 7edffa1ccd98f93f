package cpu

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/observe/observetest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// A CPU hog in one cgroup and a process that wakes every 2 ms in another,
// both pinned to CPU 0: the waker waits in the run queue behind the hog,
// and its cgroup's histogram agrees with the kernel's own schedstat
// account of that wait (an independent measure); the hog's cgroup shows
// on-CPU time that agrees with its utime+stime.
func TestRunQueueLatencyBehindHog(t *testing.T) {
	testenv.RequirePrivileged(t)
	o, err := Load(observetest.Ring(t), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })

	hogCg, wakerCg := testenv.NewCgroup(t), testenv.NewCgroup(t)
	hog := observetest.Start(t, hogCg, "taskset", "-c", "0", "sh", "-c", "while :; do :; done")
	pr, pw, err := os.Pipe() // no data ever comes: each read times out
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	waker := observetest.StartWith(t, wakerCg, pr, "taskset", "-c", "0", "bash", "-c", "while :; do read -t 0.002 x; done")
	hogID, wakerID := observetest.CgroupID(t, hogCg), observetest.CgroupID(t, wakerCg)

	observetest.Poll(t, o, "run-queue latency in the waker's cgroup", func(s *observe.Snapshot) bool {
		st := s.Cgroups[wakerID]
		return st != nil && st.RunQueue.Count() >= 200 && s.Cgroups[hogID] != nil
	})
	delayBefore := runDelay(t, waker.Process.Pid)
	hogCPU := cpuTime(t, hog.Process.Pid)
	s := observetest.Poll(t, o, "a reading", func(*observe.Snapshot) bool { return true })
	delayAfter := runDelay(t, waker.Process.Pid)

	w := s.Cgroups[wakerID]
	got := time.Duration(w.RunQueue.SumNs)
	t.Logf("waker: %d waits, %v in all; schedstat run_delay %v..%v", w.RunQueue.Count(), got, delayBefore, delayAfter)
	if delayBefore == 0 {
		t.Fatal("schedstat shows no run-queue wait for the waker: the hog did not share its CPU")
	}
	// the histogram counts the same waits as schedstat: between half the
	// wait before the reading and twice the wait after it
	if got < delayBefore/2 || got > 2*delayAfter+10*time.Millisecond {
		t.Errorf("run-queue latency sum %v; schedstat says %v..%v", got, delayBefore, delayAfter)
	}
	h := s.Cgroups[hogID]
	t.Logf("hog: %v on CPU; utime+stime %v", time.Duration(h.OnCPUNs), hogCPU)
	if time.Duration(h.OnCPUNs) < hogCPU/2-20*time.Millisecond || h.OnCPUNs == 0 {
		t.Errorf("hog's cgroup on-CPU %v; its utime+stime %v", time.Duration(h.OnCPUNs), hogCPU)
	}
}

// runDelay is schedstat's time pid spent runnable but waiting.
func runDelay(t *testing.T, pid int) time.Duration {
	t.Helper()
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/schedstat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(raw))
	ns, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		t.Fatalf("schedstat %q: %v", raw, err)
	}
	return time.Duration(ns)
}

// cpuTime is pid's utime+stime (clock ticks of 10 ms).
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
