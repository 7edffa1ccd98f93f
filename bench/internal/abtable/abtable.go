// Package abtable prints the table the program-cost benchmarks share: per
// loop, the CPU time per operation without (A) and with (B) a sensor's
// programs attached, their ratio, and how often and how long the programs
// ran.
package abtable

import (
	"fmt"
	"io"
	"slices"
)

// Row is one loop: per-round ns per operation in A and B (the same number
// of rounds), the programs' runs and run time (ns) over all B rounds, and
// the operations of those rounds.
type Row struct {
	Name        string
	A, B        []float64
	Runs, RunNS uint64
	Ops         int
}

// Print writes rows, loop names padded to width.
func Print(w io.Writer, width int, rows []Row) {
	fmt.Fprintf(w, "%-*s %10s %10s %6s %13s %13s\n", width, "loop", "A ns/op", "B ns/op", "B/A", "prog runs/op", "prog ns/run")
	for _, r := range rows {
		ratios := make([]float64, len(r.A))
		for k := range ratios {
			ratios[k] = r.B[k] / r.A[k]
		}
		perRun := 0.0
		if r.Runs > 0 {
			perRun = float64(r.RunNS) / float64(r.Runs)
		}
		fmt.Fprintf(w, "%-*s %10.0f %10.0f %6.2f %13.2f %13.0f\n", width, r.Name, Median(r.A), Median(r.B), Median(ratios),
			float64(r.Runs)/float64(r.Ops), perRun)
	}
}

// Median is the middle value of v (the upper one of an even count).
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
