package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// results holds every sample by mode, target and round.
type results struct {
	samples map[string]map[string]map[int]sample
	program map[string][]uint64 // -bpf-stats: ns per run of exit_openat, by target
	records uint64              // vigil's records of the watched opens
	others  uint64              // records of other processes' files (the default watch set)
	lost    uint64              // file_open records dropped for a full ring
	// agentProgs are the programs that ran on each unwatched loop under
	// the whole agent (-agent with -bpf-stats)
	agentProgs map[string][]string
}

func (r *results) add(mode, name string, round int, s sample) {
	if r.samples == nil {
		r.samples = map[string]map[string]map[int]sample{}
	}
	if r.samples[mode] == nil {
		r.samples[mode] = map[string]map[int]sample{}
	}
	if r.samples[mode][name] == nil {
		r.samples[mode][name] = map[int]sample{}
	}
	r.samples[mode][name][round] = s
}

func (r *results) addProgram(name string, ns uint64) {
	if r.program == nil {
		r.program = map[string][]uint64{}
	}
	r.program[name] = append(r.program[name], ns)
}

// cost is a mode's median CPU time per operation, its median extra cost
// over the baseline run of the same round and file, and the median ratio
// to that baseline.
func (r *results) cost(mode, name string) (abs, extra time.Duration, ratio float64) {
	var all, deltas []time.Duration
	var ratios []float64
	for round, s := range r.samples[mode][name] {
		all = append(all, s.cpu)
		if b, ok := r.samples["base"][name][round]; ok {
			deltas = append(deltas, s.cpu-b.cpu)
			ratios = append(ratios, float64(s.cpu)/float64(b.cpu))
		}
	}
	slices.Sort(ratios)
	if len(ratios) > 0 {
		ratio = ratios[len(ratios)/2]
	}
	return median(all), median(deltas), ratio
}

// fastest is a mode's fastest run less the fastest baseline run of the
// same file: the cost with the least interference from other load.
func (r *results) fastest(mode, name string) time.Duration {
	least := func(m string) time.Duration {
		var v []time.Duration
		for _, s := range r.samples[m][name] {
			v = append(v, s.cpu)
		}
		if len(v) == 0 {
			return 0
		}
		return slices.Min(v)
	}
	return least(mode) - least("base")
}

func (r *results) print(w io.Writer, t tree, rounds, n int, audit bool) {
	fmt.Fprintf(w, "%d rounds of %d operations (open+close, or getppid) per mode and file; CPU time of the calling thread per operation, medians; extra and ÷ are paired with the baseline of the same round.\n\n", rounds, n)
	fmt.Fprintln(w, "| operation | baseline | vigil | vigil extra | vigil ÷ baseline | auditd | auditd extra | auditd ÷ baseline | auditd extra ÷ vigil extra |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, tg := range []target{t.getppid, t.other, t.otherWrite, t.beside, t.watched} {
		base, _, _ := r.cost("base", tg.name)
		v, vx, vr := r.cost("vigil", tg.name)
		row := fmt.Sprintf("| %s | %v | %v | %s | %.2f | ", tg.name, base, v, signed(vx), vr)
		if audit {
			a, ax, ar := r.cost("auditd", tg.name)
			ratio := "–"
			if vx > 0 {
				ratio = fmt.Sprintf("%.1f×", float64(ax)/float64(vx))
			}
			row += fmt.Sprintf("%v | %s | %.2f | %s |", a, signed(ax), ar, ratio)
		} else {
			row += "– | – | – | – |"
		}
		fmt.Fprintln(w, row)
	}
	fmt.Fprintln(w, "\nFastest run of each mode less the fastest baseline run (the least disturbed by other load):")
	fmt.Fprintln(w, "\n| operation | vigil extra | auditd extra |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, tg := range []target{t.getppid, t.other, t.otherWrite, t.beside, t.watched} {
		a := "–"
		if audit {
			a = signed(r.fastest("auditd", tg.name))
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", tg.name, signed(r.fastest("vigil", tg.name)), a)
	}
	if len(r.program) > 0 {
		fmt.Fprintln(w, "\nRun time of the openat program per run, median over the rounds (kernel BPF statistics, which add to every run):")
		fmt.Fprintln(w, "\n| operation | exit_openat |")
		fmt.Fprintln(w, "|---|---|")
		for _, tg := range []target{t.other, t.otherWrite, t.beside, t.watched} {
			v := slices.Clone(r.program[tg.name])
			if len(v) == 0 {
				continue
			}
			slices.Sort(v)
			fmt.Fprintf(w, "| %s | %d ns |\n", tg.name, v[len(v)/2])
		}
	}
	fmt.Fprintf(w, "\nvigil delivered %d records of the watched opens and %d of other processes' files; %d file_open records dropped (ring full).\n", r.records, r.others, r.lost)
}

func signed(d time.Duration) string {
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}
