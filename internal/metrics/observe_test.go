package metrics

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/output"
)

type observations struct{ s ObserveSnapshot }

func (o observations) ObserveSnapshot() ObserveSnapshot {
	out := o.s
	out.Series = append([]ObserveSeries(nil), o.s.Series...)
	return out
}

// fullStats has something to say for every observer metric.
func fullStats() *observe.Stats {
	st := &observe.Stats{OnCPUNs: 2e9, Throttled: true, NrThrottled: 3, ThrottledUsec: 1500000,
		OOMKills: 1, Memory: true, MemoryBytes: 64 << 20, MajorFaults: 7, TCPRetransmits: 2, TCPResets: 1}
	st.RunQueue.Slots[3], st.RunQueue.SumNs = 4, 40000     // four waits of 8..16 µs
	st.TCPRTT.Slots[14], st.TCPRTT.SumNs = 2, 40e6         // two of 16..32 ms
	st.TCPConnect.Slots[15], st.TCPConnect.SumNs = 1, 40e6 // one of 32..64 ms
	st.IOLatency.Slots[8], st.IOLatency.SumNs = 5, 2e6
	st.Port(5432).Connect.Slots[6], st.Port(5432).Retransmits = 1, 1
	st.IOBytes, st.IOOps = [observe.OpCount]uint64{4096, 8192}, [observe.OpCount]uint64{1, 2}
	return st
}

func fullObserveSnapshot() ObserveSnapshot {
	return ObserveSnapshot{
		Series: []ObserveSeries{{Container: "web", Cgroup: "/kubepods/pod1/abc", Namespace: "shop", Pod: "web-1", Workload: "web", Stats: fullStats()}},
		Losses: map[string]uint64{"cpu/stats_full": 1},
		Pruned: map[string]uint64{"cpu": 2},
	}
}

// The log2 slots become cumulative buckets whose le is each slot's upper
// bound in seconds, labelled by container and cgroup.
func TestObserveHistogram(t *testing.T) {
	fams, err := NewRegistry(Sources{Observe: observations{fullObserveSnapshot()}}, "v0-test").Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "vigil_tcp_connect_latency_seconds" {
			continue
		}
		m := f.GetMetric()[0]
		var labels []string
		for _, l := range m.GetLabel() {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		if got := strings.Join(labels, ","); got != "cgroup=/kubepods/pod1/abc,container=web" {
			t.Errorf("labels %s", got)
		}
		h := m.GetHistogram()
		if h.GetSampleCount() != 1 || h.GetSampleSum() != 0.04 || len(h.GetBucket()) != histBuckets {
			t.Fatalf("count %d sum %v, %d buckets; want 1, 0.04 and %d", h.GetSampleCount(), h.GetSampleSum(), len(h.GetBucket()), histBuckets)
		}
		for i, b := range h.GetBucket() {
			want := uint64(0)
			if i >= 15 { // the one connect took 32..64 ms: slot 15
				want = 1
			}
			if b.GetUpperBound() != observe.UpperBoundSeconds(i) || b.GetCumulativeCount() != want {
				t.Errorf("bucket %d: le %v count %d; want le %v count %d", i, b.GetUpperBound(), b.GetCumulativeCount(), observe.UpperBoundSeconds(i), want)
			}
		}
		return
	}
	t.Fatal("vigil_tcp_connect_latency_seconds is not served")
}

// Beyond the cap, new cgroups go into one _other series, counted once
// each; a cgroup that had a series keeps it; one that went frees its place.
func TestSeriesCapFolds(t *testing.T) {
	c := &SeriesCap{Max: 2}
	mk := func(names ...string) []ObserveSeries {
		var out []ObserveSeries
		for _, n := range names {
			st := &observe.Stats{OnCPUNs: 1e9}
			out = append(out, ObserveSeries{Cgroup: n, Stats: st})
		}
		return out
	}
	out, folded := c.Fold(mk("/a", "/b", "/c", "/d"))
	if len(out) != 3 || out[2].Cgroup != OtherSeries || out[2].Stats.OnCPUNs != 2e9 || folded != 2 {
		t.Fatalf("first fold: %d series, last %+v, folded %d; want /a, /b and _other holding 2 s, 2 folded", len(out), out[len(out)-1], folded)
	}
	if _, folded = c.Fold(mk("/a", "/b", "/c", "/d")); folded != 2 {
		t.Errorf("the same cgroups folded again count %d, want still 2", folded)
	}
	out, _ = c.Fold(mk("/b", "/c", "/d"))
	if len(out) != 3 || out[0].Cgroup != "/b" || out[1].Cgroup != "/c" || out[2].Cgroup != OtherSeries {
		t.Errorf("after /a went: %v; want /b, /c and _other", []string{out[0].Cgroup, out[1].Cgroup, out[len(out)-1].Cgroup})
	}
}

// With pod labels asked for, the observer metrics carry them.
func TestObserveSeriesPodLabels(t *testing.T) {
	reg := NewRegistry(Sources{Observe: observations{fullObserveSnapshot()}, PodLabels: output.PodLabels{Namespace: true, Workload: true}}, "v0-test")
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "vigil_oom_kills_total" {
			continue
		}
		got := map[string]string{}
		for _, l := range f.GetMetric()[0].GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if got["namespace"] != "shop" || got["workload"] != "web" || got["container"] != "web" || got["pod"] != "" {
			t.Errorf("labels %v; want namespace shop, workload web, container web and no pod", got)
		}
		return
	}
	t.Error("no vigil_oom_kills_total served")
}
