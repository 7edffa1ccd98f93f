// Command observe measures what vigil's performance observers cost the
// workloads they watch, on three loads that stress their hooks:
//
//   - sched: `perf bench sched messaging` (Debian's linux-perf), tasks
//     passing messages over pipes and sockets, a context switch and a
//     wake-up every few microseconds: the CPU observer's sched_switch
//     tracepoint (runqlat's sched_switch and sched_wakeup);
//   - io: fio random 4 KiB direct reads from a loop device the harness
//     creates on a file and removes at the end: the I/O observer's block
//     request tracepoints;
//   - tcp: a loopback TCP request/response loop (a client and an echo
//     server in this process, 64-byte messages): the network observer's
//     TCP tracepoints.
//
// Each load runs under: A, no agent; B, `vigil run --observe <all>`; C,
// `vigil run --observe none` (the agent's sensors without observers); and
// D, the libbpf-tools equivalent (runqlat, biolatency, tcprtt) where it
// runs on this kernel. Rounds alternate the order of the modes (forward in
// even rounds, reversed in odd ones) and each mode's cost is the ratio to
// A within the round; the report gives the geometric mean of the ratios
// with a 95 % confidence interval (Student's t on the log ratios), and B
// against C, the observers' own share.
//
// What is measured is CPU time, which leaves out the time other programs
// of the shared machine had the CPU: for sched, the CPU time of perf and
// its children; for tcp, this process's CPU time per request/response;
// for io, fio's reported IOPS (its CPU time is reported too).
//
// fio and libbpf-tools are Debian packages; -install (on by default)
// installs those missing with apt-get.
//
// -baseline-vigil OLD makes C an older binary with B's observers, so that
// B ÷ C compares two builds of the observers on the same load. -percall
// replaces the A/B with the cost per call: with kernel.bpf_stats_enabled
// on, each mode's programs that hook the load (those its process holds,
// read through /proc/PID/fdinfo, so nothing else on the machine is
// counted) are read before and after each run, and the report gives
// their runs and run time per unit of work (a run, an I/O, a request) and
// that time's share of the load's own CPU time.
//
//	go build -o bin/vigil ./cmd/vigil && go build -o bin/bench-observe ./bench/observe
//	sudo bin/bench-observe -vigil bin/vigil -rounds 7
//	sudo bin/bench-observe -vigil bin/vigil -baseline-vigil bin/vigil-old -percall -loads io,tcp -rounds 5
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

func main() {
	code := 0
	func() {
		defer func() {
			if r := recover(); r != nil {
				f, ok := r.(failure)
				if !ok {
					panic(r)
				}
				fmt.Fprintln(os.Stderr, string(f))
				code = 1
			}
		}()
		run()
	}()
	os.Exit(code)
}

// run is the benchmark. A fail anywhere in it unwinds through its defers,
// so that the loop device, the TCP server and the pin directory are
// removed on an error too.
func run() {
	vigil := flag.String("vigil", "bin/vigil", "the vigil binary to measure")
	rounds := flag.Int("rounds", 7, "rounds; each runs every mode of every load once")
	loads := flag.String("loads", "sched,io,tcp", "loads to run, comma-separated: sched, io, tcp")
	observe := flag.String("observe", "cpu,memory,network,io", "B's --observe value: the observers on")
	tools := flag.Bool("libbpf-tools", true, "also run each load under its libbpf-tools equivalent, where it runs here")
	install := flag.Bool("install", true, "apt-get install fio and libbpf-tools when missing")
	groups := flag.Int("groups", 2, "sched: perf bench sched messaging groups (-g)")
	loops := flag.Int("loops", 200, "sched: messages per sender (-l)")
	ioTime := flag.Int("io-seconds", 4, "io: seconds of fio per measurement")
	requests := flag.Int("requests", 20000, "tcp: request/responses per measurement")
	extra := flag.String("agent-args", "", "more flags for vigil run, space-separated")
	only := flag.String("modes", "A,B,C,D", "the modes to run, by letter (A is always run: the ratios' baseline)")
	baseline := flag.String("baseline-vigil", "", "C runs this (older) vigil binary with B's --observe instead of --observe none: B ÷ C is then new against old")
	perCall := flag.Bool("percall", false, "instead of the A/B, the observers' programs per call (kernel.bpf_stats_enabled) under B, C (with -baseline-vigil) and D")
	flag.Parse()
	if os.Geteuid() != 0 {
		fail("the agent, the loop device and libbpf-tools need root: run as root (sudo)")
	}
	if _, err := os.Stat(*vigil); err != nil {
		fail("%v (build it: go build -o bin/vigil ./cmd/vigil)", err)
	}
	if *install {
		ensurePackages()
	}
	var ls []load
	for _, name := range strings.Split(*loads, ",") {
		switch strings.TrimSpace(name) {
		case "sched":
			ls = append(ls, schedLoad(*groups, *loops))
		case "io":
			l, cleanup, err := ioLoad(*ioTime)
			if err != nil {
				fail("io: %v", err)
			}
			defer cleanup()
			ls = append(ls, l)
		case "tcp":
			l, cleanup, err := tcpLoad(*requests)
			if err != nil {
				fail("tcp: %v", err)
			}
			defer cleanup()
			ls = append(ls, l)
		default:
			fail("-loads %q: want sched, io or tcp", name)
		}
	}
	pinDir := fmt.Sprintf("/sys/fs/bpf/vigil-bench-observe-%d", os.Getpid())
	defer os.RemoveAll(pinDir)
	agentArgs := strings.Fields(*extra)
	in := reportInput{rounds: *rounds, observe: *observe, groups: *groups, loops: *loops,
		ioSeconds: *ioTime, requests: *requests}
	header(in)
	bc := "B ÷ C (the observers alone)"
	// Only the CPU observer counts run-queue samples: the check that the
	// observers loaded reads those.
	cpuOn := *observe == "all" || slices.Contains(strings.Split(*observe, ","), "cpu")
	for _, l := range ls {
		modes := []mode{noAgent(),
			agentMode("B: vigil --observe "+*observe, *vigil, pinDir, append([]string{"--observe", *observe}, agentArgs...), cpuOn),
			agentMode("C: vigil --observe none", *vigil, pinDir, append([]string{"--observe", "none"}, agentArgs...), false)}
		if *baseline != "" {
			bc = "B ÷ C (this vigil against the baseline binary)"
			modes[2] = agentMode("C: "+*baseline+" --observe "+*observe, *baseline, pinDir,
				append([]string{"--observe", *observe}, agentArgs...), cpuOn)
		}
		if *tools {
			if m, ok := libbpfTool(l.tool); ok {
				modes = append(modes, m)
			} else {
				fmt.Fprintf(os.Stderr, "%s: libbpf-tools %s: not installed\n", l.name, l.tool)
			}
		}
		if *perCall {
			picked := pick(modes, *only)
			picked[0].start = nil // no agent: no programs
			if *baseline == "" {
				picked[2].start = nil // --observe none: no observer programs
			}
			percall(l, picked, *rounds)
			continue
		}
		// each load's table as soon as it is done: a long run interrupted
		// keeps what it measured
		res := runLoad(l, pick(modes, *only), *rounds)
		res.bcLabel = bc
		report(res)
	}
}

// pick keeps A and the modes whose letter is in only; a mode left out
// keeps its place (so that B is always modes[1]) and is reported as not
// run.
func pick(modes []mode, only string) []mode {
	out := make([]mode, len(modes))
	for i, m := range modes {
		letter, _, _ := strings.Cut(m.name, ":")
		out[i] = m
		if i > 0 && !slices.Contains(strings.Split(only, ","), letter) {
			out[i].start = nil
		}
	}
	return out
}

// ensurePackages installs fio and libbpf-tools with apt-get when a binary
// of theirs is missing: both are Debian packages.
func ensurePackages() {
	var missing []string
	for pkg, bin := range map[string]string{"fio": "fio", "libbpf-tools": "runqlat", "linux-perf": "perf"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return
	}
	slices.Sort(missing)
	fmt.Fprintf(os.Stderr, "installing %s\n", strings.Join(missing, " "))
	cmd := exec.Command("apt-get", append([]string{"install", "-y", "-q"}, missing...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		fail("apt-get install %s: %v\n%s", strings.Join(missing, " "), err, out)
	}
}

// failure is what fail panics with; main prints it and exits 1.
type failure string

func fail(format string, args ...any) {
	panic(failure(fmt.Sprintf("bench/observe: "+format, args...)))
}
