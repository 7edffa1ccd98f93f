package top

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Row is one container between two scrapes. Rates are per second of the
// interval; a latency is NaN when nothing was measured in it (shown as
// "-", null in JSON).
type Row struct {
	Key
	// CPU is on-CPU time per second: 1 is one whole core.
	CPU float64
	// Throttled is CFS throttled time per second.
	Throttled float64
	RunqP50   float64
	RunqP99   float64
	// IOBytes and IOOps are block I/O, reads and writes together.
	IOBytes        float64
	IOOps          float64
	IOP99          float64
	RTTP99         float64
	Retransmits    float64
	Memory         float64
	OOMKills       float64
	OOMKillsRecent float64
}

// Rows compares two snapshots of the same agent, prev taken before cur.
// A container only in cur is compared with nothing (all of its counts are
// new); a counter that went down (the agent restarted, or the container's
// series was folded and came back) is taken from zero.
func Rows(prev, cur Snapshot) []Row {
	dt := cur.Time.Sub(prev.Time).Seconds()
	out := make([]Row, 0, len(cur.Containers))
	for k, c := range cur.Containers {
		p := prev.Containers[k]
		if p == nil {
			p = &Sample{}
		}
		r := Row{Key: k, Memory: math.NaN(), OOMKills: c.OOMKills, OOMKillsRecent: delta(p.OOMKills, c.OOMKills)}
		if c.HasMemory {
			r.Memory = c.Memory
		}
		rate := func(a, b float64) float64 {
			if dt <= 0 {
				return math.NaN()
			}
			return delta(a, b) / dt
		}
		r.CPU = rate(p.OnCPU, c.OnCPU)
		r.Throttled = rate(p.Throttled, c.Throttled)
		r.IOBytes = rate(p.IOBytes, c.IOBytes)
		r.IOOps = rate(p.IOOps, c.IOOps)
		r.Retransmits = rate(p.Retransmits, c.Retransmits)
		runq := Delta(p.Runq, c.Runq)
		r.RunqP50 = runq.Quantile(0.5)
		r.RunqP99 = runq.Quantile(0.99)
		r.IOP99 = Delta(p.IOLatency, c.IOLatency).Quantile(0.99)
		r.RTTP99 = Delta(p.RTT, c.RTT).Quantile(0.99)
		out = append(out, r)
	}
	return out
}

// delta is b-a for a counter, b when the counter was reset.
func delta(a, b float64) float64 {
	if b < a {
		return b
	}
	return b - a
}

// Delta is the histogram of what cur counted since prev. When cur's total
// went down the agent restarted and cur is all new.
func Delta(prev, cur Histogram) Histogram {
	if cur.Count < prev.Count {
		return cur
	}
	d := Histogram{Count: cur.Count - prev.Count, Bounds: cur.Bounds, Counts: make([]float64, len(cur.Bounds))}
	for i, b := range cur.Bounds {
		d.Counts[i] = math.Max(0, cur.Counts[i]-prev.at(b))
	}
	return d
}

// Quantile estimates the q-quantile as Prometheus's histogram_quantile
// does: it finds the bucket holding rank q×count and interpolates
// linearly inside it, from the bucket below's bound (0 for the first)
// to its own. A rank in the +Inf bucket is given the highest finite
// bound. NaN when the histogram is empty.
func (hg Histogram) Quantile(q float64) float64 {
	if hg.Count <= 0 || len(hg.Bounds) == 0 {
		return math.NaN()
	}
	rank := q * hg.Count
	i := sort.Search(len(hg.Counts), func(i int) bool { return hg.Counts[i] >= rank })
	if i == len(hg.Counts) {
		i = len(hg.Counts) - 1
	}
	if math.IsInf(hg.Bounds[i], 1) {
		if i == 0 {
			return math.NaN()
		}
		return hg.Bounds[i-1]
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = hg.Bounds[i-1], hg.Counts[i-1]
	}
	in := hg.Counts[i] - below
	if in <= 0 {
		return hg.Bounds[i]
	}
	return lower + (hg.Bounds[i]-lower)*(rank-below)/in
}

// SortKey is what the rows are sorted by, highest first.
type SortKey string

// The sort keys of --sort and of the keys pressed while top runs.
const (
	SortCPU  SortKey = "cpu"
	SortRunq SortKey = "runq"
	SortIO   SortKey = "io"
	SortRTT  SortKey = "rtt"
)

// SortKeys lists the valid keys, for help and errors.
func SortKeys() []SortKey { return []SortKey{SortCPU, SortRunq, SortIO, SortRTT} }

// ParseSortKey checks a --sort value.
func ParseSortKey(s string) (SortKey, error) {
	for _, k := range SortKeys() {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, 0, 4)
	for _, k := range SortKeys() {
		names = append(names, string(k))
	}
	return "", fmt.Errorf("--sort %q: want one of %s", s, strings.Join(names, ", "))
}

// Sort orders rows by key, highest first: CPU by on-CPU time, runq by
// its p99, io by bytes per second, rtt by its p99. Rows with nothing
// measured (NaN) come last; ties go by name, so that the order is stable
// between refreshes.
func Sort(rows []Row, key SortKey) {
	value := func(r Row) float64 {
		switch key {
		case SortRunq:
			return r.RunqP99
		case SortIO:
			return r.IOBytes
		case SortRTT:
			return r.RTTP99
		}
		return r.CPU
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := value(rows[i]), value(rows[j])
		switch {
		case math.IsNaN(a) != math.IsNaN(b):
			return math.IsNaN(b)
		case a != b && !math.IsNaN(a):
			return a > b
		}
		return rows[i].Key.String() < rows[j].Key.String()
	})
}

// String is the container as shown: namespace/pod/container with the
// Kubernetes metadata, the container alone without, the cgroup for the
// processes outside any container ("(host)" when the agent gave none).
// Not escaped.
func (k Key) String() string {
	switch {
	case k.Container == "" && k.Cgroup != "":
		return k.Cgroup
	case k.Container == "":
		return "(host)"
	case k.Pod != "":
		return k.Namespace + "/" + k.Pod + "/" + k.Container
	}
	return k.Container
}
