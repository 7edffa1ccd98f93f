// Command exec measures what vigil costs the processes it watches: a
// fork+exec+wait loop of /bin/true and a getppid loop, without the agent
// (A) and under `vigil run` (B), and the agent's own CPU time per exec and
// share of one core while /bin/true is started at a fixed rate.
//
// Rounds alternate the order of the modes (A before B in even rounds, B
// before A in odd ones); ratios are taken within a round and the median of
// the rounds is reported. Times are CPU time: the loop thread's own, plus
// for fork+exec the CPU time of the children it reaped (the exec and the
// run of /bin/true happen in the child), which leaves out the time other
// programs on this shared machine had the CPU; wall time is reported too.
// The agent's CPU time is its whole process's, read from its process CPU
// clock (nanoseconds, exited threads included).
//
// To say which sensor costs what, the sensors are also loaded one at a
// time in this process (each on a ring of its own, drained by a goroutine
// that counts the records): the process sensor is on tp_btf scheduler
// tracepoints, the others on per-syscall tracepoints, any one of which puts
// every system call, getppid included, on the kernel's syscall-tracing path.
//
// The paced load is started by -workers threads sharing one schedule of
// -rate starts per second; the rate reported is the one achieved.
//
// By default the benchmark runs in a cgroup of its own and the agent and the
// sensors are scoped to it (vigil run --cgroup), so that the other
// processes of a shared machine do not count in the agent's CPU time.
//
//	go build -o bin/vigil ./cmd/vigil && go build -o bin/bench-exec ./bench/exec
//	sudo bin/bench-exec -vigil bin/vigil -rounds 11
//
// With -wakeup-idle, one more agent runs after the rounds with its events on
// a pipe: its CPU over that idle stretch (wake-ups cost), then the delay of
// each open of a watched file at -wakeup-rate (what fewer wake-ups cost),
// together.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/ring"
)

// benchPinDir is where the measured agent pins its enforcement.
var benchPinDir = fmt.Sprintf("/sys/fs/bpf/vigil-bench-exec-%d", os.Getpid())

func main() {
	vigil := flag.String("vigil", "bin/vigil", "the vigil binary to measure")
	rounds := flag.Int("rounds", 11, "rounds; each runs every mode once")
	execs := flag.Int("execs", 2000, "fork+execs per measurement")
	calls := flag.Int("getppid", 3_000_000, "getppid calls per measurement")
	rate := flag.Int("rate", 1600, "exec/s of the paced run, under the agent")
	paced := flag.Duration("paced", 5*time.Second, "length of the paced run")
	workers := flag.Int("workers", 4, "threads that share the paced run's schedule")
	idle := flag.Duration("idle", time.Second, "agent CPU measured with nothing to watch, before the loops "+
		"(and after the agent's warm-up: see warm.go)")
	sensors := flag.Bool("sensors", true, "also load each sensor alone in this process, to attribute the costs")
	bpfStats := flag.Bool("bpf-stats", false, "switch on kernel.bpf_stats_enabled and report the run time of each "+
		"sensor's programs per exec (sensors alone); it adds two clock reads to every program run, in every mode")
	extra := flag.String("agent-args", "", "more flags for vigil run, space-separated (e.g. --flush-interval 20ms)")
	wakeIdle := flag.Duration("wakeup-idle", 0, "after the rounds, one more agent: its CPU over this long idle, "+
		"then the delay of each event at -wakeup-rate (0: skip)")
	wakeRate := flag.Int("wakeup-rate", 1000, "opens/s of -wakeup-file in the wake-up run's paced load")
	wakeFile := flag.String("wakeup-file", "/etc/ssh/ssh_config", "a file the agent's default configuration watches")
	wakeLoad := flag.Duration("wakeup-load", 20*time.Second, "length of the wake-up run's paced load")
	scoped := flag.Bool("cgroup", true, "run in a cgroup of its own and scope the agent and the sensors to it (--cgroup), "+
		"so that other processes on the machine do not count in the agent's CPU time")
	envVars := flag.Int("env", 0, "variables in the environment of each /bin/true: 0 gives none, 30 about a login "+
		"session's (2 of them watched by the process sensor), more pads it")
	hook := flag.String("paced-hook", "", "a command (sh -c) run beside each agent's paced run, with $VIGIL_PID the agent's "+
		"pid, stopped with SIGINT when the run ends (e.g. 'perf stat -p $VIGIL_PID', 'strace -c -f -p $VIGIL_PID')")
	envOnly := flag.Bool("env-only", false, "measure only the process sensor, its environment watch off and on "+
		"(sensors.process.env), against the ring reader alone; no agent, no other sensor")
	flag.Parse()
	env := childEnv(*envVars)
	if *envOnly && !*sensors {
		fail("-env-only measures the process sensor alone: drop -sensors=false")
	}
	if os.Geteuid() != 0 {
		fail("the agent and the sensors need root: run as root (sudo)")
	}
	if _, err := os.Stat(*vigil); err != nil {
		fail("%v (build it: go build -o bin/vigil ./cmd/vigil)", err)
	}
	runtime.LockOSThread()          // the measured loops run on this one thread
	defer os.RemoveAll(benchPinDir) // the agent's pins: detaches its enforcement programs
	if *bpfStats {
		stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
		if err != nil {
			fail("enable BPF statistics: %v", err)
		}
		defer stats.Close()
	}

	var cg *benchCgroup
	var scope ring.Scope
	if *scoped {
		var err error
		if cg, err = enterCgroup(); err != nil {
			fail("%v", err)
		}
		scope = cg.scope
	}
	modes := []mode{baseline(), agentMode(*vigil, cg, strings.Fields(*extra))}
	modes = append(modes, intelModes(*vigil, cg, strings.Fields(*extra))...)
	if *envOnly {
		modes = envModes(scope)
	} else if *sensors {
		// the sensors alone run beside a ring reader in this process: they
		// are compared with that reader alone, the first of them
		control := len(modes)
		for _, m := range sensorModes(scope) {
			m.base = control
			modes = append(modes, m)
		}
	}
	results := make([][]sample, len(modes))
	progs := make([]progCost, len(modes))
	var agent []agentSample
	var others []string
	for r := 0; r < *rounds; r++ {
		others = append(others, othersOnSyscalls())
		order := make([]int, len(modes))
		for i := range order {
			order[i] = i
		}
		if r%2 == 1 {
			slices.Reverse(order) // B, then A
		}
		for _, i := range order {
			m := modes[i]
			h, err := m.start()
			if err != nil {
				fail("%s: %v", m.name, err)
			}
			var s sample
			var as agentSample
			if a, ok := h.(*agentProc); ok {
				warmed, took, err := a.warm(env)
				if err != nil {
					fail("%s: %v", m.name, err)
				}
				as.warmup, as.load = took, loadAverage()
				cpu, wall := a.measure(func() { time.Sleep(*idle) })
				as.idleShare = float64(cpu) / float64(wall)
				cpu0 := a.cpu()
				s.execCPU, s.execWall = forkExecLoop(*execs, env)
				as.loopPerExec = float64(a.cpu()-cpu0) / float64(*execs)
				s.ppidCPU, s.ppidWall = getppidLoop(*calls)
				var run pacedRun
				hk, err := startHook(*hook, a.cmd.Process.Pid)
				if err != nil {
					fail("%s: %v", m.name, err)
				}
				u0 := readUsage(a.cmd.Process.Pid)
				cpu, wall = a.measure(func() { run = pacedLoop(*rate, *paced, *workers, env) })
				as.usage = readUsage(a.cmd.Process.Pid).perExec(u0, run.execs)
				hk.stop()
				as.pacedRate = run.rate()
				as.pacedShare = float64(cpu) / float64(wall)
				as.pacedPerExec = float64(cpu) / float64(run.execs)
				as.execs = warmed + *execs + run.execs
			} else if l, ok := h.(*loadedSensor); ok {
				before := l.programStats()
				s.execCPU, s.execWall = forkExecLoop(*execs, env)
				progs[i].add(before, l.programStats(), *execs)
				s.ppidCPU, s.ppidWall = getppidLoop(*calls)
			} else {
				s.execCPU, s.execWall = forkExecLoop(*execs, env)
				s.ppidCPU, s.ppidWall = getppidLoop(*calls)
			}
			note, err := h.stop()
			if err != nil {
				fail("%s: %v", m.name, err)
			}
			if _, ok := h.(*agentProc); ok {
				as.note = note
				agent = append(agent, as)
			}
			results[i] = append(results[i], s)
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done\n", r+1, *rounds)
	}
	var wake *wakeupResult
	if *wakeIdle > 0 {
		w, err := measureWakeup(*vigil, cg, strings.Fields(*extra), *wakeIdle, *wakeRate, *wakeLoad, *wakeFile)
		if err != nil {
			fail("wake-up run: %v", err)
		}
		wake = &w
	}

	if cg != nil {
		if err := cg.leave(); err != nil {
			fail("%v", err)
		}
	}
	report(reportInput{
		scoped: *scoped, agentArgs: *extra,
		rounds: *rounds, execs: *execs, calls: *calls,
		rate: *rate, paced: *paced, workers: *workers,
		modes: modes, results: results, agent: agent, progs: progs,
		others: others,
	})
	if wake != nil {
		wake.print()
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/exec: "+format+"\n", args...)
	os.Exit(1)
}
