// Command fileopen measures what the file sensor costs a process that opens
// and closes files, against no monitoring at all and against auditd
// watching the same directory. It runs alternating rounds (the machines
// are shared and noisy) and reports medians of CPU time per open+close of
// the opening thread, and each mode's extra cost paired with the baseline
// of the same round.
//
//	sudo go run ./bench/fileopen [-rounds 11] [-n 20000] [-auditd=false] [-bpf-stats] [-agent bin/vigil]
//
// With -agent, the whole agent (vigil run, default configuration) is one
// more mode of every round; with -bpf-stats too, the programs that ran on
// each unwatched loop are listed.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

func main() {
	if job := os.Getenv(childEnv); job != "" {
		os.Exit(runChild(job))
	}
	rounds := flag.Int("rounds", 11, "alternating rounds")
	n := flag.Int("n", 20000, "open+close pairs per run")
	withAudit := flag.Bool("auditd", true, "compare with auditd watching the same directory")
	bpfStats := flag.Bool("bpf-stats", false, "also report the run time of the sensor's openat program per open, by kernel BPF statistics (which add to every run)")
	agentBin := flag.String("agent", "", "also measure the whole agent: this vigil binary, run with its default configuration")
	flag.Parse()
	if os.Geteuid() != 0 {
		fail("fileopen needs root: it loads eBPF programs and starts auditd")
	}
	paths, cleanup := makeTree()
	defer cleanup()

	res := results{agentProgs: map[string][]string{}}
	if *agentBin != "" && *bpfStats {
		stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
		if err != nil {
			fail("enable BPF statistics: %v", err)
		}
		defer stats.Close()
	}
	for r := 0; r < *rounds; r++ {
		blocks := []string{"base", "vigil"}
		if *withAudit {
			blocks = append(blocks, "auditd")
		}
		if *agentBin != "" {
			blocks = append(blocks, "agent")
		}
		rand.Shuffle(len(blocks), func(i, j int) { blocks[i], blocks[j] = blocks[j], blocks[i] })
		for _, b := range blocks {
			switch b {
			case "base":
				for _, p := range shuffled(paths.all()) {
					res.add("base", p.name, r, run(p.path, *n))
				}
			case "vigil":
				v, err := startVigil(paths.watched.dir, paths.watched.path, *bpfStats)
				if err != nil {
					fail("vigil: %v", err)
				}
				for _, p := range shuffled(paths.all()) {
					before := v.openatStats()
					res.add("vigil", p.name, r, run(p.path, *n))
					if after := v.openatStats(); p.path != "getppid" && after.runs > before.runs {
						res.addProgram(p.name, (after.ns-before.ns)/(after.runs-before.runs))
					}
				}
				lost, err := v.stop()
				if err != nil {
					fail("vigil: %v", err)
				}
				res.records += v.records.Load()
				res.others += v.others.Load()
				res.lost += lost
			case "agent":
				a, err := startAgent(*agentBin, paths.top)
				if err != nil {
					fail("agent: %v", err)
				}
				for _, p := range shuffled(paths.all()) {
					before, names := allPrograms()
					res.add("agent", p.name, r, run(p.path, *n))
					if after, _ := allPrograms(); *bpfStats && p.path != "getppid" {
						res.agentProgs[p.name] = programsOn(before, after, names, *n)
					}
				}
				if err := a.stop(); err != nil {
					fail("agent: %v", err)
				}
			case "auditd":
				a, err := startAuditd(paths.watched.dir)
				if err != nil {
					fail("auditd: %v", err)
				}
				for _, p := range shuffled(paths.all()) {
					res.add("auditd", p.name, r, run(p.path, *n))
				}
				if err := a.stop(); err != nil {
					fail("auditd: %v", err)
				}
			}
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done\n", r+1, *rounds)
	}
	res.print(os.Stdout, paths, *rounds, *n, *withAudit)
	if *agentBin != "" {
		res.printAgent(os.Stdout, paths)
	}
	// warm-up opens are watched too: n/10 of them per run. Every one is
	// delivered or counted as dropped, and none is reported twice.
	want := uint64(*rounds) * uint64(*n+*n/10)
	if res.records > want || res.records+res.lost < want {
		fail("vigil delivered %d of the %d watched opens and dropped %d file_open records", res.records, want, res.lost)
	}
}

// target is one loop's file: name says where it sits.
type target struct{ name, dir, path string }

type tree struct {
	watched, beside, other, getppid target
	// otherWrite opens other's file for writing (an open the sensor
	// looks at a little more: proc_link_open's argument test)
	otherWrite target
	top        string // the benchmark's directory in /tmp
}

func (t tree) all() []target { return []target{t.getppid, t.other, t.otherWrite, t.beside, t.watched} }

// makeTree makes the files the loops open: one in a watched directory, one
// beside it (same top-level directory: the filter must read the path),
// and one in another tree (the top-level name dismisses it).
func makeTree() (tree, func()) {
	top, err := os.MkdirTemp("/tmp", "vigil-bench-")
	if err != nil {
		fail("%v", err)
	}
	other, err := os.MkdirTemp("/var/tmp", "vigil-bench-")
	if err != nil {
		os.RemoveAll(top)
		fail("%v", err)
	}
	mk := func(name, dir string) target {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fail("%v", err)
		}
		p := filepath.Join(dir, "file")
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			fail("%v", err)
		}
		return target{name: name, dir: dir, path: p}
	}
	t := tree{
		watched: mk("watched", filepath.Join(top, "watched")),
		beside:  mk("unwatched, beside a watched dir", filepath.Join(top, "beside")),
		other:   mk("unwatched, other tree", filepath.Join(other, "data")),
		getppid: target{name: "getppid (no file call)", path: "getppid"},
		top:     top,
	}
	t.otherWrite = target{name: "unwatched for writing, other tree", dir: t.other.dir, path: writePrefix + t.other.path}
	return t, func() { os.RemoveAll(top); os.RemoveAll(other) }
}

func shuffled(ts []target) []target {
	rand.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
	return ts
}

// sample is one run: CPU and wall time per open+close.
type sample struct{ cpu, wall time.Duration }

// run starts a fresh child to loop over path.
func run(path string, n int) sample {
	self, err := os.Executable()
	if err != nil {
		fail("%v", err)
	}
	if path == "getppid" {
		n *= 20 // a cheap call: a run as long as the others'
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", childEnv, path, n))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fail("child: %v", err)
	}
	var cpu, wall int64
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%d %d", &cpu, &wall); err != nil {
		fail("child said %q: %v", out, err)
	}
	return sample{time.Duration(cpu), time.Duration(wall)}
}

func median(v []time.Duration) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fileopen: "+format+"\n", args...)
	os.Exit(1)
}
