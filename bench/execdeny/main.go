// Command execdeny measures what the exec guard (internal/enforce/execguard)
// costs an exec: fork+exec+wait of /bin/true with no guard program (A), with
// the programs attached and a policy in force but an empty exec_deny (B),
// and with 1 000 exec_deny entries, none of them matching (C); and the extra
// latency of a held first exec of an unknown binary (hash + continue)
// against the same exec not held (see hold.go).
//
// The policy is scoped to a cgroup of the benchmark's own, and the children
// are started in it (clone3 into the cgroup); the deny entries name a
// device that does not exist, so nothing on the machine is ever killed.
// Rounds rotate the order of the modes; ratios are taken within a round and
// the median of the rounds is reported. Times are CPU time (the loop
// thread's plus the reaped children's: the exec, and the guard program,
// run in the child) and wall time. With kernel.bpf_stats_enabled the
// programs' own run time per call is reported as well.
//
//	go run ./bench/execdeny -rounds 9
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/execguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
)

// quitEnv makes a copy of this binary exit at once: the "unknown binary"
// of the hold measurement.
const quitEnv = "VIGIL_EXECDENY_QUIT"

func main() {
	if os.Getenv(quitEnv) != "" {
		os.Exit(0)
	}
	rounds := flag.Int("rounds", 9, "rounds; each runs every mode once")
	execs := flag.Int("execs", 2000, "fork+execs of /bin/true per measurement")
	entries := flag.Int("entries", 1000, "exec_deny entries in mode C")
	holds := flag.Int("holds", 100, "held execs per measurement, per binary")
	tmp := flag.String("tmp", "/dev/shm", "where the fresh copies of the hold measurement are made")
	flag.Parse()
	if os.Geteuid() != 0 {
		fail("loading the guard needs root: run as root")
	}
	runtime.LockOSThread()

	b, err := newBench()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/execdeny:", err)
		os.Exit(1)
	}
	// fail panics, so that the pin directory and the cgroup still go
	defer func() {
		r := recover()
		b.close()
		if r != nil {
			fmt.Fprintln(os.Stderr, "bench/execdeny:", r)
			os.Exit(1)
		}
	}()

	modes := []string{"A no program", "B programs, empty exec_deny", fmt.Sprintf("C programs, %d exec_deny entries", *entries)}
	cpu := make([][]float64, len(modes))
	wall := make([][]float64, len(modes))
	progNS := map[string][]float64{}
	for round := 0; round < *rounds; round++ {
		for k := range modes {
			i := (k + round) % len(modes) // rotate the order
			if err := b.mode(i, *entries); err != nil {
				fail("mode %s: %v", modes[i], err)
			}
			before := b.progStats()
			c, w := b.forkExec("/bin/true", *execs)
			cpu[i] = append(cpu[i], c)
			wall[i] = append(wall[i], w)
			for name, st := range b.progStats() {
				if runs := st.runs - before[name].runs; runs > 0 {
					key := fmt.Sprintf("%s in %s", name, modes[i][:1])
					progNS[key] = append(progNS[key], float64(st.ns-before[name].ns)/float64(runs))
				}
			}
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done\n", round+1, *rounds)
	}

	fmt.Printf("fork+exec+wait of /bin/true, %d per measurement, %d rounds (order rotated)\n\n", *execs, *rounds)
	fmt.Printf("| mode | CPU/exec median | wall/exec median | CPU ratio to A (median of rounds) | wall ratio to A |\n|---|---|---|---|---|\n")
	for i, m := range modes {
		fmt.Printf("| %s | %v | %v | %.3f | %.3f |\n", m, dur(median(cpu[i])), dur(median(wall[i])),
			median(ratios(cpu[i], cpu[0])), median(ratios(wall[i], wall[0])))
	}
	if len(progNS) > 0 {
		fmt.Printf("\nprogram run time per call (kernel.bpf_stats_enabled), median of rounds:\n")
		names := make([]string, 0, len(progNS))
		for n := range progNS {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Printf("  %s: %v\n", n, dur(median(progNS[n])))
		}
	}
	fmt.Println()
	b.holdBench(*rounds, *holds, *tmp)
}

// bench is the guard with its pin directory, ring and cgroup.
type bench struct {
	dir   string
	cg    string
	cgFD  int
	cgID  uint64
	state *pinned.State
	ring  *ring.Ring
	guard *execguard.Guard
	stats interface{ Close() error }
	read  chan error
	// onRecord, when set, sees every record (the ring reader's goroutine)
	onRecord atomic.Pointer[func(raw []byte)]
}

func newBench() (*bench, error) {
	root, err := kernel.Cgroup2Root()
	if err != nil {
		return nil, err
	}
	b := &bench{dir: fmt.Sprintf("/sys/fs/bpf/vigil-bench-execdeny-%d", os.Getpid()),
		cg: filepath.Join(root, fmt.Sprintf("vigil-bench-execdeny-%d", os.Getpid())), cgFD: -1}
	if err := os.Mkdir(b.cg, 0o755); err != nil {
		return nil, err
	}
	if b.cgFD, err = unix.Open(b.cg, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
		b.close()
		return nil, err
	}
	if b.cgID, err = kernel.CgroupID(b.cg); err != nil {
		b.close()
		return nil, err
	}
	if b.state, err = pinned.Open(b.dir); err != nil {
		b.close()
		return nil, err
	}
	cfg := ring.DefaultConfig()
	cfg.Scope.AgentPID = uint32(os.Getpid())
	if b.ring, err = ring.New(cfg); err != nil {
		b.close()
		return nil, err
	}
	b.read = make(chan error, 1)
	go func() {
		b.read <- b.ring.Read(func(raw []byte) {
			if f := b.onRecord.Load(); f != nil {
				(*f)(raw)
			}
		}, func() {})
	}()
	if s, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME)); err == nil {
		b.stats = s
	}
	return b, nil
}

// mode sets up mode i: 0 no program, 1 programs + empty list, 2 programs
// + entries fake entries. The scoped enforce policy is number 0.
func (b *bench) mode(i, entries int) error {
	if i == 0 {
		return b.unload()
	}
	if b.guard == nil {
		g, err := execguard.Load(execguard.Options{Dir: b.dir, Ring: b.ring})
		if err != nil {
			return err
		}
		b.guard = g
	}
	if err := b.state.SetPolicies(0, 0, true); err != nil {
		return err
	}
	if err := b.state.SetScopes(map[uint64]uint64{b.cgID: 1}); err != nil {
		return err
	}
	want := map[execguard.InodeKey]pinned.Verdict{}
	if i == 2 {
		for n := range entries {
			// major 4095, minor 1048575: no such device
			want[execguard.InodeKey{Dev: 0xfff<<20 | 0xfffff, Ino: uint64(n + 1)}] = pinned.Verdict{Enforce: 1}
		}
	}
	return b.guard.SetDeny(want)
}

// unload detaches the programs: the links' pins go, then the descriptors.
func (b *bench) unload() error {
	if b.guard == nil {
		return nil
	}
	for _, name := range execguard.LinkNames() {
		if err := pinned.UnpinLink(b.dir, name); err != nil {
			return err
		}
	}
	err := b.guard.Close()
	b.guard = nil
	return err
}

type progStat struct{ runs, ns uint64 }

func (b *bench) progStats() map[string]progStat {
	out := map[string]progStat{}
	if b.guard == nil || b.stats == nil {
		return out
	}
	for name, p := range b.guard.Programs() {
		st, err := p.Stats()
		if err != nil {
			continue
		}
		out[name] = progStat{st.RunCount, uint64(st.Runtime)}
	}
	return out
}

// forkExec starts path n times in the cgroup and waits for each; it
// returns CPU and wall time per exec, in ns.
func (b *bench) forkExec(path string, n int) (cpu, wall float64) {
	attr := &syscall.ProcAttr{Env: []string{quitEnv + "=1"},
		Sys: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: b.cgFD}}
	var children time.Duration
	t0, start := threadCPU(), time.Now()
	for range n {
		pid, err := syscall.ForkExec(path, []string{path}, attr)
		if err != nil {
			fail("fork/exec %s: %v", path, err)
		}
		var ws syscall.WaitStatus
		var ru syscall.Rusage
		if _, err := syscall.Wait4(pid, &ws, 0, &ru); err != nil {
			fail("wait: %v", err)
		}
		if !ws.Exited() || ws.ExitStatus() != 0 {
			fail("%s: wait status %v", path, ws)
		}
		children += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	w := time.Since(start)
	c := threadCPU() - t0 + children
	return float64(c) / float64(n), float64(w) / float64(n)
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

func (b *bench) close() {
	if b.guard != nil {
		b.guard.Close()
	}
	pinned.Remove(b.dir)
	if b.ring != nil {
		b.ring.Stop()
		<-b.read
		b.ring.Close()
	}
	if b.state != nil {
		b.state.Close()
	}
	if b.stats != nil {
		b.stats.Close()
	}
	if b.cgFD >= 0 {
		unix.Close(b.cgFD)
	}
	os.Remove(b.cg)
}

func ratios(v, base []float64) []float64 {
	out := make([]float64, len(v))
	for i := range v {
		out[i] = v[i] / base[i]
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func dur(ns float64) time.Duration { return time.Duration(ns).Round(10 * time.Nanosecond) }

// fail ends the benchmark; main's deferred clean-up runs first (a failure
// before the bench exists has nothing to clean up).
func fail(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
