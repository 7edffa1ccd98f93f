package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/cilium/ebpf"
)

// results are per-call costs: [condition][workload][round].
type results struct {
	cpu, wall [][][]float64
	// per condition: BPF run time and runs, per program
	stats []map[string]ebpf.ProgramStats
}

func newResults(conds, works int) *results {
	r := &results{stats: make([]map[string]ebpf.ProgramStats, conds)}
	for c := 0; c < conds; c++ {
		r.cpu = append(r.cpu, make([][]float64, works))
		r.wall = append(r.wall, make([][]float64, works))
		r.stats[c] = map[string]ebpf.ProgramStats{}
	}
	return r
}

func (r *results) add(c, w int, cost cost, n int) {
	r.cpu[c][w] = append(r.cpu[c][w], float64(cost.cpu)/float64(n))
	r.wall[c][w] = append(r.wall[c][w], float64(cost.wall)/float64(n))
}

func (r *results) addStats(c int, before, after map[string]ebpf.ProgramStats) {
	for name, a := range after {
		b := before[name]
		s := r.stats[c][name]
		s.Runtime += a.Runtime - b.Runtime
		s.RunCount += a.RunCount - b.RunCount
		r.stats[c][name] = s
	}
}

func (r *results) print(rounds int, conds []condition, works []workload, bpfStats bool) {
	fmt.Printf("rounds: %d; per call: medians, and the medians of the per-round ratio and difference to \"none\"\n", rounds)
	r.table("CPU time of the calling thread", r.cpu, conds, works)
	r.table("wall time", r.wall, conds, works)
	if !bpfStats {
		return
	}
	fmt.Printf("\nBPF program CPU time per run (kernel statistics; includes other processes' calls on the host):\n\n| condition | program | runs | per run |\n|---|---|---|---|\n")
	for c, cond := range conds {
		names := make([]string, 0, len(r.stats[c]))
		for name, st := range r.stats[c] {
			if st.RunCount > 0 {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			st := r.stats[c][name]
			fmt.Printf("| %s | %s | %d | %d ns |\n", cond.name, name, st.RunCount, int64(st.Runtime/time.Nanosecond)/int64(st.RunCount))
		}
	}
}

func (r *results) table(title string, v [][][]float64, conds []condition, works []workload) {
	fmt.Printf("\n%s:\n\n| workload | condition | per call | ratio to none | minus none |\n|---|---|---|---|---|\n", title)
	for w, work := range works {
		base := v[0][w]
		for c, cond := range conds {
			var ratio, delta []float64
			for i := range v[c][w] {
				ratio = append(ratio, v[c][w][i]/base[i])
				delta = append(delta, v[c][w][i]-base[i])
			}
			fmt.Printf("| %s | %s | %.0f ns | %.3f | %+.0f ns |\n", work.name, cond.name, median(v[c][w]), median(ratio), median(delta))
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
