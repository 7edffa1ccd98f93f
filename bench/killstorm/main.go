// Command killstorm measures what the process sensor's signal program
// (tp_btf/signal_generate) costs under a storm of kill(2) calls: SIGTERM
// sent to a child that ignores it (every call reported: a record with the
// target's comm and binary path), and SIGCONT to the same child (every call
// passes the program, which returns at its first test). Each loop runs
// without the sensor (A) and with it (B) in alternating rounds, on one
// locked thread; the result is the thread's CPU time per kill, the median
// round of each, the median of the rounds' B/A ratios, and, from kernel BPF
// statistics, how often the signal program ran and its time per run. The
// sensor runs in this process on a ring of its own drained by a goroutine,
// with no agent exemption, so this process's kills are the ones reported.
//
//	sudo go run ./bench/killstorm -rounds 9 -n 100000
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/bench/internal/abtable"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/process"
)

func main() {
	rounds := flag.Int("rounds", 9, "A/B rounds")
	n := flag.Int("n", 100_000, "kills per measurement")
	flag.Parse()
	if os.Geteuid() != 0 {
		die("loading the sensor needs root")
	}
	runtime.LockOSThread()
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		die("enable BPF statistics: %v", err)
	}
	defer stats.Close()

	// a child that ignores SIGTERM (SIG_IGN survives exec)
	child := exec.Command("/bin/sh", "-c", `trap "" TERM; exec sleep 3600`)
	if err := child.Start(); err != nil {
		die("%v", err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	pid := child.Process.Pid

	r, err := ring.New(ring.DefaultConfig())
	if err != nil {
		die("%v", err)
	}
	defer r.Close()
	var records atomic.Uint64
	go func() { _ = r.Read(func([]byte) { records.Add(1) }, func() {}) }()

	loops := []struct {
		name string
		sig  syscall.Signal
	}{
		{"kill(child, SIGTERM), reported", syscall.SIGTERM},
		{"kill(child, SIGCONT), not reported", syscall.SIGCONT},
	}
	cpu := make([][2][]float64, len(loops))
	runs, runNS := make([]uint64, len(loops)), make([]uint64, len(loops))
	for round := 0; round < *rounds; round++ {
		for b := range 2 {
			var s *process.Sensor
			if b == 1 {
				if s, err = process.Load(r, process.Options{CgroupV1Subsys: -1}); err != nil {
					die("load: %v", err)
				}
			}
			for i, l := range loops {
				n0, ns0 := programRuns(s)
				cpu[i][b] = append(cpu[i][b], perKill(*n, pid, l.sig))
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
	losses, err := r.Losses()
	if err != nil {
		die("%v", err)
	}
	fmt.Printf("%d rounds of %d kills, %d records delivered, losses %+v\n", *rounds, *n, records.Load(), losses)
	rows := make([]abtable.Row, len(loops))
	for i, l := range loops {
		rows[i] = abtable.Row{Name: l.name, A: cpu[i][0], B: cpu[i][1], Runs: runs[i], RunNS: runNS[i], Ops: *rounds * *n}
	}
	abtable.Print(os.Stdout, 38, rows)
}

// perKill is the thread's CPU time per kill(pid, sig), n of them.
func perKill(n, pid int, sig syscall.Signal) float64 {
	t0 := threadCPU()
	for range n {
		if err := syscall.Kill(pid, sig); err != nil {
			die("kill: %v", err)
		}
	}
	return float64(threadCPU()-t0) / float64(n)
}

func threadCPU() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		die("clock: %v", err)
	}
	return ts.Nano()
}

// programRuns is how often the signal program ran, and for how long (ns).
func programRuns(s *process.Sensor) (uint64, uint64) {
	if s == nil {
		return 0, 0
	}
	st, err := s.ProgramStats()
	if err != nil {
		die("%v", err)
	}
	p := st["handle_signal"]
	if p == nil {
		die("no handle_signal program")
	}
	return p.RunCount, uint64(p.Runtime)
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "killstorm: "+format+"\n", args...)
	os.Exit(1)
}
