package verify

// Growth compares a program's instructions processed with a baseline's.
type Growth struct {
	Old int `json:"old"`
	New int `json:"new"`
	// DeltaPct is (New-Old)/Old in percent; negative when it shrank.
	DeltaPct float64 `json:"delta_pct"`
	MaxPct   float64 `json:"max_pct"`
	// Exceeded: DeltaPct is more than MaxPct.
	Exceeded bool `json:"exceeded"`
}

// BaselineInfo says which baseline a report was compared with.
type BaselineInfo struct {
	Path         string  `json:"path"`
	Kernel       string  `json:"kernel"`
	MaxGrowthPct float64 `json:"max_growth_pct"`
	// New are programs the baseline does not have ("object: program");
	// Gone are the baseline's programs this run did not see.
	New  []string `json:"new,omitempty"`
	Gone []string `json:"gone,omitempty"`
}

// Stable is a copy of r without what changes from run to run (times,
// log tails with kernel addresses, a previous comparison): the form
// committed as a baseline, whose diffs then show only changes in what
// the verifier did.
func (r *Report) Stable() *Report {
	out := &Report{Kernel: r.Kernel, Summary: r.Summary}
	for _, o := range r.Objects {
		o.Programs = append([]Program{}, o.Programs...)
		for i := range o.Programs {
			p := &o.Programs[i]
			p.LoadUsec, p.VerificationUsec, p.LogTail, p.Growth = 0, 0, nil, nil
		}
		out.Objects = append(out.Objects, o)
	}
	out.Summary.Grown = 0
	return out
}

// Compare sets each program's Growth against base, matching programs by
// object path (as given on the command line) and name, and counts those
// that grew by more than maxPct percent. Programs that did not load in
// either run (no instructions processed) are not compared.
func (r *Report) Compare(base *Report, path string, maxPct float64) {
	info := &BaselineInfo{Path: path, Kernel: base.Kernel, MaxGrowthPct: maxPct}
	old := map[string]int{}
	for _, o := range base.Objects {
		for _, p := range o.Programs {
			old[o.Path+": "+p.Name] = p.Processed
		}
	}
	seen := map[string]bool{}
	for i := range r.Objects {
		o := &r.Objects[i]
		for j := range o.Programs {
			p := &o.Programs[j]
			key := o.Path + ": " + p.Name
			seen[key] = true
			was, ok := old[key]
			switch {
			case !ok:
				info.New = append(info.New, key)
			case was > 0 && p.Processed > 0:
				g := &Growth{Old: was, New: p.Processed, MaxPct: maxPct}
				g.DeltaPct = float64(p.Processed-was) * 100 / float64(was)
				g.Exceeded = g.DeltaPct > maxPct
				p.Growth = g
			}
		}
	}
	for _, o := range base.Objects {
		for _, p := range o.Programs {
			if key := o.Path + ": " + p.Name; !seen[key] {
				info.Gone = append(info.Gone, key)
			}
		}
	}
	r.Baseline = info
	r.summarize()
}
