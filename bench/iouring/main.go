// Command iouring measures what the io_uring sensor costs: an open+close
// loop by system calls (no io_uring: the sensor's programs must not run at
// all), an io_uring READ loop (every completion passes the sensor's
// io_uring_complete program, which returns after reading the opcode), and
// an io_uring OPENAT loop (each open reported: its file looked up, its
// path walked, a record written). Each loop runs without the sensor (A)
// and with it (B) in alternating rounds, on one locked thread; the result
// is the loop thread's CPU time per operation, the median round of each,
// and the median of each round's B/A ratio. The sensor runs in this
// process on a ring of its own drained by a goroutine, with no agent
// exemption, so the loops' own requests are the ones reported; kernel BPF
// statistics count how often each program ran.
//
//	go run ./bench/iouring -rounds 9
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/bench/internal/abtable"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/iouring"
	"github.com/vigil-sec/vigil/internal/testenv"
)

type loop struct {
	name string
	n    int
	run  func(n int)
}

func main() {
	rounds := flag.Int("rounds", 9, "A/B rounds")
	n := flag.Int("n", 100_000, "operations per measurement")
	flag.Parse()
	if os.Geteuid() != 0 {
		die("loading the sensor needs root")
	}
	if why := testenv.IOURingUsable(); why != "" {
		die("%s", why)
	}
	runtime.LockOSThread()
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		die("enable BPF statistics: %v", err)
	}
	defer stats.Close()

	dir, err := os.MkdirTemp("", "v18u-bench-")
	if err != nil {
		die("%v", err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "data")
	if err := os.WriteFile(file, make([]byte, 4096), 0o644); err != nil {
		die("%v", err)
	}
	u, err := testenv.NewUring(0)
	if err != nil {
		die("%v", err)
	}
	defer u.Close()
	fd, err := unix.Open(file, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		die("%v", err)
	}
	defer unix.Close(fd)

	r, err := ring.New(ring.DefaultConfig())
	if err != nil {
		die("%v", err)
	}
	defer r.Close()
	var records atomic.Uint64
	go func() { _ = r.Read(func([]byte) { records.Add(1) }, func() {}) }()

	loops := []loop{
		{"open+close by system calls (no io_uring)", *n, func(n int) { syscallOpens(file, n) }},
		{"io_uring READ of 4 KiB (not reported)", *n, func(n int) { uringReads(u, fd, n) }},
		{"io_uring OPENAT + close (reported)", *n / 4, func(n int) { uringOpens(u, file, n) }},
	}
	cpu := make([][2][]float64, len(loops))
	runs, runNS := make([]uint64, len(loops)), make([]uint64, len(loops))
	for round := 0; round < *rounds; round++ {
		for b := range 2 {
			var s *iouring.Sensor
			if b == 1 {
				if s, err = iouring.Load(r); err != nil {
					die("load: %v", err)
				}
			}
			for i, l := range loops {
				n0, ns0 := programRuns(s)
				cpu[i][b] = append(cpu[i][b], perOp(l.n, l.run))
				n1, ns1 := programRuns(s)
				runs[i], runNS[i] = runs[i]+n1-n0, runNS[i]+ns1-ns0
			}
			if s != nil {
				if err := s.Close(); err != nil {
					die("close: %v", err)
				}
			}
		}
	}
	// every reported open is delivered or counted lost, and nothing else
	// of this process is reported (the ring was set up before the sensor)
	if want := uint64(*rounds * (*n / 4)); records.Load() > want {
		die("%d records for %d reported opens", records.Load(), want)
	}
	losses, err := r.Losses()
	if err != nil {
		die("%v", err)
	}
	fmt.Printf("%d rounds, %d records delivered, losses %+v\n", *rounds, records.Load(), losses)
	rows := make([]abtable.Row, len(loops))
	for i, l := range loops {
		rows[i] = abtable.Row{Name: l.name, A: cpu[i][0], B: cpu[i][1], Runs: runs[i], RunNS: runNS[i], Ops: *rounds * l.n}
	}
	abtable.Print(os.Stdout, 44, rows)
}

// programRuns is how often the sensor's programs ran, and for how long
// (ns), in all.
func programRuns(s *iouring.Sensor) (n, ns uint64) {
	if s == nil {
		return 0, 0
	}
	st, err := s.ProgramStats()
	if err != nil {
		die("%v", err)
	}
	for _, p := range st {
		n, ns = n+p.RunCount, ns+uint64(p.Runtime)
	}
	return n, ns
}

func syscallOpens(p string, n int) {
	for range n {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			die("open: %v", err)
		}
		unix.Close(fd)
	}
}

func uringReads(u *testenv.Uring, fd, n int) {
	buf := make([]byte, 4096)
	for range n {
		if res, err := u.Do(testenv.SQE{Opcode: testenv.IORingOpRead, FD: int32(fd), Addr: unsafe.Pointer(&buf[0]), Len: 4096}); err != nil || res != 4096 {
			die("READ: %d %v", res, err)
		}
	}
}

func uringOpens(u *testenv.Uring, p string, n int) {
	name := append([]byte(p), 0)
	for range n {
		fd, err := u.Do(testenv.SQE{Opcode: testenv.IORingOpOpenat, FD: unix.AT_FDCWD, Addr: unsafe.Pointer(&name[0]), OpFlags: unix.O_RDONLY | unix.O_CLOEXEC})
		if err != nil || fd < 0 {
			die("OPENAT: %d %v", fd, err)
		}
		unix.Close(int(fd))
	}
}

// perOp is this thread's CPU time per operation of run(n), in ns.
func perOp(n int, run func(int)) float64 {
	var a, b unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &a)
	run(n)
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &b)
	return float64(b.Nano()-a.Nano()) / float64(n)
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/iouring: "+format+"\n", args...)
	os.Exit(1)
}
