package syscalls

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// BenchmarkGetppid is the cost the recorder adds to every system call: a
// getppid loop with the recorder detached, attached for a cgroup this
// process is outside of, and attached with this process inside it. Each
// iteration is one round of the three, in that order, so that the machine's
// drift falls on all three alike; each is timed in the thread's own CPU
// time (the program runs in the caller's system call). It reports the
// medians per call and the differences:
//
//	go test -run '^$' -bench Getppid -benchtime 20x ./internal/observe/syscalls/
func BenchmarkGetppid(b *testing.B) {
	testenv.RequirePrivileged(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cg := testenv.NewCgroup(b)
	id, err := kernel.CgroupID(cg.Path)
	if err != nil {
		b.Fatal(err)
	}
	level, err := kernel.CgroupLevel(cg.Root, cg.Path)
	if err != nil {
		b.Fatal(err)
	}
	const calls = 50_000
	var detached, outside, inside []float64
	for b.Loop() {
		detached = append(detached, perCall(b, calls))
		rec, err := Open()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rec.Record(id, level); err != nil {
			b.Fatal(err)
		}
		outside = append(outside, perCall(b, calls))
		back := moveSelf(b, cg.Root, cg.Path)
		inside = append(inside, perCall(b, calls))
		moveSelf(b, cg.Root, back)
		if err := rec.Close(); err != nil {
			b.Fatal(err)
		}
	}
	d, o, i := median(detached), median(outside), median(inside)
	b.ReportMetric(d, "ns/call-detached")
	b.ReportMetric(o, "ns/call-outside")
	b.ReportMetric(i, "ns/call-inside")
	b.ReportMetric(o-d, "ns-added-outside")
	b.ReportMetric(i-d, "ns-added-inside")
}

// perCall is the thread CPU time of one getppid, averaged over n calls.
func perCall(b *testing.B, n int) float64 {
	start := threadTime(b)
	for range n {
		unix.RawSyscall(nrGetppid, 0, 0, 0)
	}
	return float64(threadTime(b)-start) / float64(n)
}

func threadTime(b *testing.B) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		b.Fatal(err)
	}
	return ts.Nano()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// moveSelf moves this process into the cgroup v2 directory dir and
// returns the directory it was in.
func moveSelf(b *testing.B, root, dir string) string {
	raw, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		b.Fatal(err)
	}
	from := root
	for _, line := range strings.Split(string(raw), "\n") {
		if rel, ok := strings.CutPrefix(line, "0::"); ok {
			from = filepath.Join(root, rel)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
		b.Fatal(err)
	}
	return from
}
