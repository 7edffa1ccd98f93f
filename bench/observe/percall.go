package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// progRun is one program's run statistics: cumulative runs and run time.
type progRun struct {
	name     string
	runs, ns uint64
}

// heldPrograms is the run statistics of the BPF programs that pid holds
// (a program fd, or a link fd, names its program in fdinfo), by id: the
// programs of exactly one agent or tool, whatever else the machine runs.
func heldPrograms(pid int) (map[ebpf.ProgramID]progRun, error) {
	infos, err := filepath.Glob(fmt.Sprintf("/proc/%d/fdinfo/*", pid))
	if err != nil {
		return nil, err
	}
	out := map[ebpf.ProgramID]progRun{}
	for _, path := range infos {
		for _, id := range fdinfoProgIDs(path) {
			if _, seen := out[id]; seen {
				continue
			}
			p, err := ebpf.NewProgramFromID(id)
			if err != nil {
				continue // unloaded meanwhile
			}
			info, ierr := p.Info()
			st, serr := p.Stats()
			p.Close()
			if ierr != nil || serr != nil {
				return nil, fmt.Errorf("program %d: %v %v", id, ierr, serr)
			}
			out[id] = progRun{name: info.Name, runs: st.RunCount, ns: uint64(st.Runtime.Nanoseconds())}
		}
	}
	return out, nil
}

// fdinfoProgIDs is the prog_id lines of one fdinfo file (none when the
// fd is not a BPF program or link, or is gone).
func fdinfoProgIDs(path string) []ebpf.ProgramID {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ids []ebpf.ProgramID
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "prog_id:"); ok {
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
				ids = append(ids, ebpf.ProgramID(n))
			}
		}
	}
	return ids
}

// callSample is one mode's programs over one run of a load.
type callSample struct {
	m     measurement
	progs map[string]progRun // by name: runs and ns during the run
}

// percall runs l under each mode (not A) rounds times, alternating the
// order, with the kernel's BPF run statistics on, and reports for each
// mode the programs that hook the load: runs and program time per unit of
// work, time per run, and that time's share of the load's own CPU time.
func percall(l load, modes []mode, rounds int) {
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		fail("kernel BPF run statistics: %v", err)
	}
	defer stats.Close()
	if _, err := l.run(); err != nil {
		fail("%s: warm-up: %v", l.name, err)
	}
	samples := make([][]callSample, len(modes))
	for r := 0; r < rounds; r++ {
		for _, i := range roundOrder(len(modes), r) {
			if modes[i].start == nil {
				continue
			}
			s, err := callRound(l, modes[i])
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %s: %v\n", l.name, modes[i].name, err)
				modes[i].start = nil // a tool that does not run here
				continue
			}
			samples[i] = append(samples[i], s)
		}
		fmt.Fprintf(os.Stderr, "%s: per-call round %d/%d done\n", l.name, r+1, rounds)
	}
	fmt.Printf("\n### %s, per call (kernel.bpf_stats_enabled; medians of %d rounds)\n\n", l.name, rounds)
	fmt.Printf("| mode | program | runs per %s | ns per run | program ns per %s | share of the load's CPU |\n", l.unit, l.unit)
	fmt.Println("|---|---|---|---|---|---|")
	for i, m := range modes {
		if len(samples[i]) == 0 {
			continue
		}
		names := map[string]bool{}
		for _, s := range samples[i] {
			for n := range s.progs {
				names[n] = true
			}
		}
		sorted := slices.Sorted(func(yield func(string) bool) {
			for n := range names {
				if !yield(n) {
					return
				}
			}
		})
		for _, n := range append(sorted, "all") {
			var perUnit, perRun, nsUnit, share []float64
			for _, s := range samples[i] {
				p := s.progs[n]
				if n == "all" {
					for _, q := range s.progs {
						p.runs += q.runs
						p.ns += q.ns
					}
				}
				perUnit = append(perUnit, float64(p.runs)/s.m.units)
				if p.runs > 0 {
					perRun = append(perRun, float64(p.ns)/float64(p.runs))
				}
				nsUnit = append(nsUnit, float64(p.ns)/s.m.units)
				share = append(share, float64(p.ns)/s.m.cpuNs*100)
			}
			fmt.Printf("| %s | %s | %.3g | %.0f | %.0f | %.2f %% |\n", m.name, n, median(perUnit), median(perRun),
				median(nsUnit), median(share))
		}
	}
}

// callRound starts m, runs l once and stops m: the run statistics of the
// programs m's process holds that hook l, before and after.
func callRound(l load, m mode) (callSample, error) {
	h, err := m.start()
	if err != nil {
		return callSample{}, err
	}
	before, err := heldPrograms(h.pid())
	if err != nil {
		h.stop() //nolint:errcheck // the first error is the one to report
		return callSample{}, err
	}
	s, err := l.run()
	if err != nil {
		h.stop() //nolint:errcheck // the load's error is the one to report
		return callSample{}, err
	}
	after, err := heldPrograms(h.pid())
	if err != nil {
		h.stop() //nolint:errcheck // the first error is the one to report
		return callSample{}, err
	}
	if _, err := h.stop(); err != nil {
		return callSample{}, err
	}
	out := callSample{m: s, progs: map[string]progRun{}}
	for id, a := range after {
		if !l.hooked(a.name) {
			continue
		}
		b := before[id]
		p := out.progs[a.name]
		p.runs += a.runs - b.runs
		p.ns += a.ns - b.ns
		out.progs[a.name] = p
	}
	return out, nil
}
