// Command pipeline measures the agent's own cost per event, end to end
// (ring buffer, decode, enrichment, rules, JSON lines to a file), on a
// live system, and prints everything in one run:
//
//   - agent CPU per event in a storm of opens of a watched file that a rule
//     alerts on (throttled, as a real storm is), against the agent's idle
//     CPU over the same wall time;
//   - the zero-loss knee: a paced generator at rising rates, the agent
//     pinned to one core (taskset); at each rate produced, delivered and
//     lost (the agent's drop reports), which must add up;
//   - the agent's resident memory after start and after as many
//     short-lived processes as fit the time given.
//
// Run as root with a built agent:
//
//	make build && sudo go run ./bench/pipeline -vigil bin/vigil [-storm 200000] [-rates 50000,100000,200000,250000,300000] [-procs-time 60s]
//	    [-measure storm,knee,memory] [-profile-dir DIR] [-storm-agent-args "--cpu-profile F.cpu"]
//
// The in-process benchmarks (decode + enrich + rules + JSON per record
// kind, and the recorded corpus) are `go test ./internal/agent -bench
// Pipeline`; -go-bench runs them too.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if job := os.Getenv(childEnv); job != "" {
		os.Exit(runChild(job))
	}
	vigil := flag.String("vigil", "bin/vigil", "the agent's binary")
	storm := flag.Int("storm", 200000, "opens in the storm")
	rates := flag.String("rates", "25000,50000,100000,150000,200000,250000,300000", "paced rates (events/s) for the knee")
	paceFor := flag.Duration("pace-for", 2*time.Second, "how long each paced rate runs")
	agentCPU := flag.Int("agent-cpu", 1, "core the agent is pinned to (the generator takes another)")
	procs := flag.Int("procs", 1_000_000, "short-lived processes to start at most for the memory measure")
	procsTime := flag.Duration("procs-time", 60*time.Second, "time budget for the short-lived processes")
	measures := flag.String("measure", "storm,knee,memory", "what to measure: storm, knee and/or memory (comma-separated)")
	stormArgs := flag.String("storm-agent-args", "", "more flags for the storm's agent, space-separated (e.g. --cpu-profile F.cpu --mem-profile F.mem)")
	memArgs := flag.String("memory-agent-args", "", "more flags for the memory measure's agent, space-separated (e.g. --memory-limit 40MiB)")
	profDir := flag.String("profile-dir", "", "keep the memory measure's heap profiles in this directory")
	goBench := flag.Bool("go-bench", false, "also run the in-process benchmarks (go test ./internal/agent -bench Pipeline)")
	flag.Parse()
	if os.Geteuid() != 0 {
		fail("pipeline needs root: the agent loads eBPF programs")
	}
	bin, err := filepath.Abs(*vigil)
	if err != nil {
		fail("%v", err)
	}
	dir, err := os.MkdirTemp("", "v19p-pipeline-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(dir)
	b := &bench{vigil: bin, dir: dir, agentCPU: *agentCPU}
	if err := b.setup(); err != nil {
		fail("%v", err)
	}
	genCPU := 1 - *agentCPU
	if genCPU < 0 {
		genCPU = 0
	}
	b.genCPU = genCPU
	// this process (and its counting of the agent's output) stays off the
	// agent's core
	if err := pin(genCPU); err != nil {
		fail("pin to core %d: %v", genCPU, err)
	}

	fmt.Printf("vigil pipeline benchmark, %s, agent on core %d, generator on core %d\n", time.Now().UTC().Format(time.RFC3339), *agentCPU, genCPU)
	want := map[string]bool{}
	for _, m := range strings.Split(*measures, ",") {
		want[strings.TrimSpace(m)] = true
	}
	if want["storm"] {
		if err := b.stormRun(*storm, strings.Fields(*stormArgs)); err != nil {
			fail("storm: %v", err)
		}
	}
	var list []int
	for _, f := range strings.Split(*rates, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r <= 0 {
			fail("-rates: %q is not a rate", f)
		}
		list = append(list, r)
	}
	if want["knee"] {
		if err := b.knee(list, *paceFor); err != nil {
			fail("knee: %v", err)
		}
	}
	if want["memory"] {
		if err := b.memory(*procs, *procsTime, *profDir, strings.Fields(*memArgs)); err != nil {
			fail("memory: %v", err)
		}
	}
	if *goBench {
		cmd := exec.Command("go", "test", "./internal/agent/", "-run", "^$", "-bench", "Pipeline", "-benchtime", "20000x")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fail("go test: %v", err)
		}
	}
}

// pin binds every thread of this process to core cpu (threads made
// later inherit it from their creator).
func pin(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return err
		}
	}
	return nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pipeline: "+format+"\n", args...)
	os.Exit(1)
}
