// Command privilege measures what the privilege sensor costs the
// processes it watches: a getppid loop (a call it does not watch: the
// price every system call pays) and a setuid(0) loop as root (a watched
// call: entry, exit and a record per call), each without the sensor (A),
// with it on its per-syscall tracepoints (B), and with the dispatcher for
// the calls this kernel lacks as well (C), in alternating rounds, reported
// as the fastest and the median round and the median of each round's
// ratio to A.
//
// The sensor runs in this process on a ring of its own, drained by a
// goroutine, with no agent exemption, so that the loops' own calls are
// the ones reported. Times are the loop thread's CPU time (system time
// included: a system call's own), not wall-clock time.
//
//	go run ./bench/privilege -rounds 7
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/privilege"
)

func main() {
	rounds := flag.Int("rounds", 7, "A/B/C rounds")
	getppids := flag.Int("getppid", 3_000_000, "getppid calls per measurement")
	setuids := flag.Int("setuid", 300_000, "setuid calls per measurement")
	flag.Parse()
	if os.Geteuid() != 0 {
		fail("loading the sensor needs root: run as root")
	}
	runtime.LockOSThread() // the loops' calls all come from one thread

	othersBefore := othersOnSyscalls()
	r, err := ring.New(ring.DefaultConfig())
	if err != nil {
		fail("%v", err)
	}
	defer r.Close()
	var records atomic.Uint64
	done := make(chan error, 1)
	go func() { done <- r.Read(func([]byte) { records.Add(1) }, func() {}) }()

	type config struct {
		name string
		opts *privilege.Options // nil: no sensor
	}
	configs := []config{
		{"A no sensor", nil},
		{"B tracepoints", &privilege.Options{}},
		{"C tracepoints + dispatcher", &privilege.Options{MissingSyscalls: true}},
	}
	ppid := make([][]float64, len(configs))
	setuid := make([][]float64, len(configs))
	var dispatched []string
	for round := 0; round < *rounds; round++ {
		for i, c := range configs {
			var s *privilege.Sensor
			if c.opts != nil {
				if s, err = privilege.Load(r, *c.opts); err != nil {
					fail("load: %v", err)
				}
				if st := s.Status(); len(st.Dispatched) > 0 {
					dispatched = st.Dispatched
				}
			}
			ppid[i] = append(ppid[i], perOp(*getppids, getppid))
			setuid[i] = append(setuid[i], perOp(*setuids, setuidRoot))
			if s != nil {
				if err := s.Close(); err != nil {
					fail("close: %v", err)
				}
			}
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done\n", round+1, *rounds)
	}
	if err := r.Stop(); err != nil {
		fail("%v", err)
	}
	if err := <-done; err != nil {
		fail("%v", err)
	}
	losses, err := r.Losses()
	if err != nil {
		fail("%v", err)
	}

	fmt.Printf("rounds: %d; B and C report every setuid (a record each); C also watches %v through the dispatcher\n", *rounds, dispatched)
	// while any syscall tracepoint is attached anywhere, every system call
	// takes the kernel's tracing path, A's included: B/A then shows less
	fmt.Printf("other processes' programs on syscall tracepoints: %s at the start, %s at the end\n\n",
		othersBefore, othersOnSyscalls())
	fmt.Printf("| measurement | config | fastest round | median round | median of the rounds' ratios to A |\n|---|---|---|---|---|\n")
	for _, m := range []struct {
		name string
		v    [][]float64
	}{{"getppid (not watched)", ppid}, {"setuid(0) as root (watched)", setuid}} {
		for i, c := range configs {
			// A, B and C of one round run seconds apart: their ratio
			// cancels the machine's drift better than medians across rounds
			ratios := make([]float64, len(m.v[i]))
			for r := range ratios {
				ratios[r] = m.v[i][r] / m.v[0][r]
			}
			fmt.Printf("| %s | %s | %v | %v | %.3f |\n", m.name, c.name,
				time.Duration(slices.Min(m.v[i])), time.Duration(median(m.v[i])), median(ratios))
		}
	}
	fmt.Printf("\nrecords read: %d; kernel drop counters: %+v\n", records.Load(), losses)
}

// othersOnSyscalls counts the programs other processes have attached to
// syscall tracepoints, as bpftool lists them; "unknown" without bpftool.
func othersOnSyscalls() string {
	out, err := exec.Command("bpftool", "perf", "list").Output()
	if err != nil {
		return "unknown"
	}
	self := fmt.Sprintf("pid %d ", os.Getpid())
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, self) && (strings.Contains(line, "sys_enter") || strings.Contains(line, "sys_exit")) {
			n++
		}
	}
	return strconv.Itoa(n)
}

// perOp is the CPU time of this thread per call of fn(n), in nanoseconds:
// unlike wall-clock time, it leaves out the time other programs on this
// shared machine had the CPU, which is most of the noise.
func perOp(n int, fn func(int)) float64 {
	start := threadCPU()
	fn(n)
	return float64(threadCPU()-start) / float64(n)
}

func threadCPU() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		fail("thread CPU clock: %v", err)
	}
	return ts.Nano()
}

func getppid(n int) {
	for i := 0; i < n; i++ {
		syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
	}
}

// setuidRoot calls setuid(0) as root: allowed, and changes nothing.
func setuidRoot(n int) {
	for i := 0; i < n; i++ {
		if _, _, e := syscall.RawSyscall(syscall.SYS_SETUID, 0, 0, 0); e != 0 {
			fail("setuid(0): %v", e)
		}
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/privilege: "+format+"\n", args...)
	os.Exit(1)
}
