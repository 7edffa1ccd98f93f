package main

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
)

// sample is one mode's measurements in one round, in ns per operation.
type sample struct {
	execCPU, execWall float64 // per fork+exec+wait of /bin/true
	ppidCPU, ppidWall float64 // per getppid
}

// agentSample is what the agent itself used in one round.
type agentSample struct {
	idleShare    float64       // CPU share of one core with nothing to watch
	loopPerExec  float64       // ns of agent CPU per exec of the full-speed loop
	pacedRate    float64       // exec/s achieved by the paced run
	pacedShare   float64       // CPU share of one core during the paced run
	pacedPerExec float64       // ns of agent CPU per exec of the paced run
	execs        int           // execs while the agent ran
	note         string        // "records/dropped" from the agent's summary
	warmup       time.Duration // from its start to the end of its warm-up (warm.go)
	load         float64       // the machine's 1-minute load average before the idle measurement
	usage        usage         // what the kernel counted for the agent, per exec of the paced run
}

// progCost sums, over the rounds, what each program of a sensor ran
// during the fork+exec loops.
type progCost struct {
	execs int
	runs  map[string]uint64
	time  map[string]time.Duration
}

func (c *progCost) add(before, after map[string]ebpf.ProgramStats, execs int) {
	if c.runs == nil {
		c.runs, c.time = map[string]uint64{}, map[string]time.Duration{}
	}
	c.execs += execs
	for name, a := range after {
		c.runs[name] += a.RunCount - before[name].RunCount
		c.time[name] += a.Runtime - before[name].Runtime
	}
}

type reportInput struct {
	progs                []progCost
	scoped               bool
	agentArgs            string
	rounds, execs, calls int
	rate, workers        int
	paced                time.Duration
	modes                []mode
	results              [][]sample
	agent                []agentSample
	others               []string
}

func report(in reportInput) {
	fmt.Printf("rounds: %d, alternating A/B order; %d fork+execs and %d getppids per measurement\n",
		in.rounds, in.execs, in.calls)
	fmt.Printf("B = vigil run --events all --format json --output /dev/null --socket \"\"")
	if in.scoped {
		fmt.Printf(" --cgroup <the benchmark's own cgroup> (sensors alone: the same scope)")
	}
	if in.agentArgs != "" {
		fmt.Printf(" %s", in.agentArgs)
	}
	fmt.Println()
	fmt.Printf("other processes' programs on syscall tracepoints, before each round: %s (while any is attached, "+
		"every system call takes the tracing path, the baseline's too)\n\n", strings.Join(in.others, ", "))

	fmt.Println("| mode | fork+exec+wait CPU (median) | ÷ baseline [quartiles] | wall (median) | ÷ baseline | getppid CPU (median) | − baseline | ÷ baseline [quartiles] |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	// the agent runs in a process of its own: its baseline is A; the
	// sensors alone run in this one, beside a ring reader: their baseline
	// is that reader alone (the control), measured in the same round
	for i, m := range in.modes {
		base := in.results[m.base]
		if m.base == i && i > 0 {
			fmt.Printf("| *below: the sensors alone in this process, against this control* | | | | | | | |\n")
		}
		s := in.results[i]
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", m.name,
			dur(median(field(s, execCPU))), ratio(s, base, execCPU),
			dur(median(field(s, execWall))), ratio(s, base, execWall),
			ns(median(field(s, ppidCPU))), diff(s, base, ppidCPU), ratio(s, base, ppidCPU))
	}

	reportPrograms(in)

	a := in.agent
	if len(a) == 0 {
		return
	}
	get := func(f func(agentSample) float64) []float64 {
		v := make([]float64, len(a))
		for i := range a {
			v[i] = f(a[i])
		}
		return v
	}
	rates := get(func(s agentSample) float64 { return s.pacedRate })
	shares := get(func(s agentSample) float64 { return s.pacedShare })
	perExec := get(func(s agentSample) float64 { return s.pacedPerExec })
	idle := get(func(s agentSample) float64 { return s.idleShare })
	loop := get(func(s agentSample) float64 { return s.loopPerExec })
	warmup := get(func(s agentSample) float64 { return float64(s.warmup) })
	load := get(func(s agentSample) float64 { return s.load })
	var dropped []string
	var perExecRecords []float64
	for _, s := range a {
		records, lost, _ := strings.Cut(s.note, "/")
		dropped = append(dropped, lost)
		if n, err := strconv.ParseFloat(records, 64); err == nil {
			perExecRecords = append(perExecRecords, n/float64(s.execs))
		}
	}

	fmt.Printf("\nagent (B), medians of %d rounds [min–max]:\n\n", len(a))
	fmt.Println("| measurement | value |")
	fmt.Println("|---|---|")
	fmt.Printf("| agent warm-up (%d execs, then its CPU under %.0f %% of a core for %d × %v) | %s [%s–%s] |\n",
		warmExecs, 100*settleShare, settleRounds, settleWindow,
		secs(median(warmup)), secs(slices.Min(warmup)), secs(slices.Max(warmup)))
	fmt.Printf("| machine's load average (1 min) at the idle measurement | %.1f [%.1f–%.1f] |\n",
		median(load), slices.Min(load), slices.Max(load))
	fmt.Printf("| paced run: asked | %d exec/s for %v, %d worker threads |\n", in.rate, in.paced, in.workers)
	fmt.Printf("| paced run: achieved | %.0f exec/s [%.0f–%.0f] |\n", median(rates), slices.Min(rates), slices.Max(rates))
	fmt.Printf("| agent CPU at the achieved rate | %.2f %% of one core [%.2f–%.2f] |\n",
		100*median(shares), 100*slices.Min(shares), 100*slices.Max(shares))
	fmt.Printf("| agent CPU per exec, paced (fork + exec + exit records) | %s [%s–%s] |\n",
		dur(median(perExec)), dur(slices.Min(perExec)), dur(slices.Max(perExec)))
	fmt.Printf("| agent CPU per exec, full-speed loop | %s [%s–%s] |\n",
		dur(median(loop)), dur(slices.Min(loop)), dur(slices.Max(loop)))
	fmt.Printf("| agent CPU with nothing to watch | %.2f %% of one core [%.2f–%.2f] |\n",
		100*median(idle), 100*slices.Min(idle), 100*slices.Max(idle))
	// per-exec cost times the asked rate, plus the idle share: what the
	// agent would use at exactly the asked rate, if the cost is linear
	fmt.Printf("| agent CPU extrapolated to %d exec/s (idle + per-exec × rate) | %.2f %% of one core |\n",
		in.rate, 100*(median(idle)+(median(perExec)-median(idle)*1e9/median(rates))*float64(in.rate)/1e9))
	fmt.Printf("| records the agent read per exec (every record of the round ÷ its execs) | %.2f |\n", median(perExecRecords))
	fmt.Printf("| records dropped in the kernel, per round | %s |\n", strings.Join(dropped, ", "))
	reportUsage(a)
}

// reportPrograms gives, per sensor alone, the run time of each of its
// programs that ran at least once every ten execs during the fork+exec
// loops, per exec. The programs run for every task on the machine and
// leave early for tasks out of scope: other processes' calls count too.
func reportPrograms(in reportInput) {
	header := false
	for i, c := range in.progs {
		names := make([]string, 0, len(c.runs))
		for name, runs := range c.runs {
			if c.execs > 0 && float64(runs)/float64(c.execs) >= 0.1 {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			if !header {
				fmt.Print("\nBPF programs during the fork+exec loops (kernel.bpf_stats_enabled), sensors alone; " +
					"runs of other processes on the machine included:\n\n")
				fmt.Println("| sensor | program | runs per exec | ns per run | ns per exec |")
				fmt.Println("|---|---|---|---|---|")
				header = true
			}
			runs, t := float64(c.runs[name]), float64(c.time[name])
			fmt.Printf("| %s | %s | %.2f | %.0f | %.0f |\n", in.modes[i].name, name,
				runs/float64(c.execs), t/runs, t/float64(c.execs))
		}
	}
}

func execCPU(s sample) float64  { return s.execCPU }
func execWall(s sample) float64 { return s.execWall }
func ppidCPU(s sample) float64  { return s.ppidCPU }

func field(s []sample, f func(sample) float64) []float64 {
	v := make([]float64, len(s))
	for i := range s {
		v[i] = f(s[i])
	}
	return v
}

// ratio is the median over the rounds of each round's s ÷ base, and the
// quartiles of those ratios.
func ratio(s, base []sample, f func(sample) float64) string {
	r := make([]float64, len(s))
	for i := range s {
		r[i] = f(s[i]) / f(base[i])
	}
	sort.Float64s(r)
	q := func(p float64) float64 { return r[int(p*float64(len(r)-1)+0.5)] }
	return fmt.Sprintf("%.3f [%.2f–%.2f]", median(r), q(0.25), q(0.75))
}

// diff is the median over the rounds of each round's s − base.
func diff(s, base []sample, f func(sample) float64) string {
	d := make([]float64, len(s))
	for i := range s {
		d[i] = f(s[i]) - f(base[i])
	}
	return fmt.Sprintf("%+.0f ns", median(d))
}

func dur(v float64) string  { return time.Duration(v).Round(100 * time.Nanosecond).String() }
func secs(v float64) string { return time.Duration(v).Round(10 * time.Millisecond).String() }
func ns(v float64) string   { return fmt.Sprintf("%.0f ns", v) }

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// reportUsage prints the medians over the rounds of what the kernel
// counted for the agent per exec of the paced run.
func reportUsage(a []agentSample) {
	if len(a) == 0 {
		return
	}
	med := func(f func(usage) float64) string {
		v := make([]float64, len(a))
		for i := range a {
			v[i] = f(a[i].usage)
		}
		return fmt.Sprintf("%.2f [%.2f–%.2f]", median(v), slices.Min(v), slices.Max(v))
	}
	us := func(ticks float64) float64 { return ticks * 1e6 / clockTick }
	fmt.Printf("\nagent (B) per exec of the paced run, as the kernel counts it (medians of %d rounds [min–max]):\n\n", len(a))
	fmt.Println("| per exec | value |")
	fmt.Println("|---|---|")
	fmt.Printf("| user time, µs (/proc/PID/stat, 10 ms ticks) | %s |\n", med(func(u usage) float64 { return us(u.utime) }))
	fmt.Printf("| system time, µs | %s |\n", med(func(u usage) float64 { return us(u.stime) }))
	fmt.Printf("| voluntary context switches (all threads) | %s |\n", med(func(u usage) float64 { return u.voluntary }))
	fmt.Printf("| involuntary context switches | %s |\n", med(func(u usage) float64 { return u.invol }))
	fmt.Printf("| times a thread was put on a CPU (schedstat) | %s |\n", med(func(u usage) float64 { return u.schedIns }))
	fmt.Printf("| minor page faults | %s |\n", med(func(u usage) float64 { return u.minflt }))
	fmt.Printf("| read calls (syscr) | %s |\n", med(func(u usage) float64 { return u.syscr }))
	fmt.Printf("| write calls (syscw) | %s |\n", med(func(u usage) float64 { return u.syscw }))
	fmt.Printf("| threads at the end | %s |\n", med(func(u usage) float64 { return u.threads }))
}
