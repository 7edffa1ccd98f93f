package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
)

// loadResult is every round of one load: samples[mode][round].
type loadResult struct {
	load    load
	modes   []mode
	samples [][]measurement
	notes   [][]string
	// skipped says why a mode that does not run here was left out
	skipped map[string]string
	// bcLabel names the B ÷ C row
	bcLabel string
}

// runLoad runs l under every mode, rounds times, alternating the order.
// A libbpf-tools mode that cannot start (the kernel lacks its hook) is
// dropped with its reason; any other failure ends the benchmark.
func runLoad(l load, modes []mode, rounds int) loadResult {
	res := loadResult{load: l, skipped: map[string]string{}}
	// one warm-up run: page cache, the loop device, perf's first start
	if _, err := l.run(); err != nil {
		fail("%s: warm-up: %v", l.name, err)
	}
	for r := 0; r < rounds; r++ {
		order := roundOrder(len(modes), r)
		round := make([]measurement, len(modes))
		notes := make([]string, len(modes))
		for _, i := range order {
			m := modes[i]
			if _, gone := res.skipped[m.name]; gone {
				continue
			}
			if m.start == nil {
				res.skipped[m.name] = "left out (-modes)"
				continue
			}
			h, err := m.start()
			if err != nil {
				if strings.HasPrefix(m.name, "D:") {
					res.skipped[m.name] = summary(err.Error())
					fmt.Fprintf(os.Stderr, "%s: %s does not run here: %v\n", l.name, m.name, err)
					continue
				}
				fail("%s: %s: %v", l.name, m.name, err)
			}
			s, err := l.run()
			if err != nil {
				h.stop() //nolint:errcheck // the load's error is the one to report
				fail("%s under %s: %v", l.name, m.name, err)
			}
			note, err := h.stop()
			if err != nil {
				fail("%s: %s: %v", l.name, m.name, err)
			}
			round[i], notes[i] = s, note
		}
		res.samples = append(res.samples, round)
		res.notes = append(res.notes, notes)
		fmt.Fprintf(os.Stderr, "%s: round %d/%d done\n", l.name, r+1, rounds)
	}
	res.modes = modes
	return res
}

// roundOrder is the order of n modes in round r: forward in even rounds,
// reversed in odd ones.
func roundOrder(n, r int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if r%2 == 1 {
		slices.Reverse(order)
	}
	return order
}

// summary is the first line of a tool's failure and the last line it
// printed, which says why.
func summary(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) == 1 {
		return lines[0]
	}
	return strings.TrimSuffix(lines[0], ":") + ": " + strings.TrimSpace(lines[len(lines)-1])
}

type reportInput struct {
	rounds, groups, loops, ioSeconds, requests int
	observe                                    string
}

// header says how the loads run, before the first table.
func header(in reportInput) {
	fmt.Printf("rounds: %d per load, mode order alternating (forward, reversed); ratios within a round; "+
		"geometric mean of the rounds' ratios with a 95 %% confidence interval (Student's t on log ratios)\n", in.rounds)
	fmt.Printf("sched: perf bench sched messaging -g %d -l %d; io: fio randread 4k direct psync, %d s, on a loop device; "+
		"tcp: %d 64-byte request/responses on loopback\n", in.groups, in.loops, in.ioSeconds, in.requests)
}

// report writes one load's table.
func report(res loadResult) {
	{
		l := res.load
		fmt.Printf("\n### %s\n\n", l.name)
		fmt.Printf("| mode | %s (median) | ÷ A [95 %% CI] | %s (median) | ÷ A [95 %% CI] |\n", l.costUnit, l.cpuUnit)
		fmt.Println("|---|---|---|---|---|")
		for i, m := range res.modes {
			if why, gone := res.skipped[m.name]; gone {
				fmt.Printf("| %s | does not run here: %s | | | |\n", m.name, why)
				continue
			}
			cost, cpu := column(res, i, func(s measurement) float64 { return s.cost }),
				column(res, i, func(s measurement) float64 { return s.cpu })
			fmt.Printf("| %s | %.4g | %s | %.4g | %s |\n", m.name, median(cost), ratioCI(res, i, 0, costOf),
				median(cpu), ratioCI(res, i, 0, cpuOf))
		}
		// the observers' own share: B against C in the same rounds
		ran := func(i int) bool {
			if i >= len(res.modes) {
				return false
			}
			_, gone := res.skipped[res.modes[i].name]
			return !gone
		}
		if ran(1) && ran(2) {
			fmt.Printf("| %s | | %s | | %s |\n", res.bcLabel, ratioCI(res, 1, 2, costOf), ratioCI(res, 1, 2, cpuOf))
		}
		{
			if ran(1) && ran(3) {
				fmt.Printf("| B ÷ D (vigil's observers against the libbpf-tool) | | %s | | %s |\n",
					ratioCI(res, 1, 3, costOf), ratioCI(res, 1, 3, cpuOf))
			}
		}
		var notes []string
		for _, n := range res.notes {
			if n[1] != "" {
				notes = append(notes, n[1])
			}
		}
		fmt.Printf("\nB's observers, per round: %s\n", strings.Join(notes, "; "))
	}
}

func costOf(s measurement) float64 { return s.cost }
func cpuOf(s measurement) float64  { return s.cpu }

func column(res loadResult, i int, f func(measurement) float64) []float64 {
	v := make([]float64, len(res.samples))
	for r := range res.samples {
		v[r] = f(res.samples[r][i])
	}
	return v
}

// ratioCI is the geometric mean over the rounds of mode i ÷ mode base,
// and its 95 % confidence interval.
func ratioCI(res loadResult, i, base int, f func(measurement) float64) string {
	var logs []float64
	for r := range res.samples {
		a, b := f(res.samples[r][i]), f(res.samples[r][base])
		if a > 0 && b > 0 {
			logs = append(logs, math.Log(a/b))
		}
	}
	n := float64(len(logs))
	if n < 2 {
		return "-"
	}
	var mean, ss float64
	for _, v := range logs {
		mean += v
	}
	mean /= n
	for _, v := range logs {
		ss += (v - mean) * (v - mean)
	}
	half := tQuantile(len(logs)-1) * math.Sqrt(ss/(n-1)/n)
	return fmt.Sprintf("%.3f [%.3f–%.3f]", math.Exp(mean), math.Exp(mean-half), math.Exp(mean+half))
}

// tQuantile is Student's t 0.975 quantile for df degrees of freedom.
func tQuantile(df int) float64 {
	t := []float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086}
	if df >= 1 && df <= len(t) {
		return t[df-1]
	}
	return 1.96
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
