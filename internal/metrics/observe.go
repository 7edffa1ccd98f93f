package metrics

import (
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/output"
)

// Observations are the performance observers' figures (internal/observe),
// read at each scrape.
type Observations interface {
	ObserveSnapshot() ObserveSnapshot
}

// ObserveSnapshot is one reading: a series per cgroup, labelled, before
// the cap on series is applied.
type ObserveSnapshot struct {
	Series []ObserveSeries
	// Losses count samples the observers could not keep, by
	// "observer/reason".
	Losses map[string]uint64
	// Pruned count the kernel table entries of removed cgroups the
	// observers deleted, by observer.
	Pruned map[string]uint64
}

// ObserveSeries is one cgroup's figures and the labels its metrics carry.
type ObserveSeries struct {
	// Container names the container (its name, else its short id); "" for
	// a cgroup outside containers.
	Container string
	// Cgroup is the cgroup v2 path ("/system.slice/x.service").
	Cgroup string
	// Namespace, Pod and Workload are the pod's, for the pod labels asked
	// for (--metrics-k8s-labels).
	Namespace, Pod, Workload string
	Stats                    *observe.Stats
}

// OtherSeries is the container and cgroup label value of the series the
// cap folded cgroups into.
const OtherSeries = "_other"

// DefaultMaxSeries is the cap on observer series unless told otherwise.
const DefaultMaxSeries = 1000

// SeriesCap keeps at most Max series of observer metrics apart: a cgroup
// keeps the series it got first for as long as it is seen; beyond the
// cap, new ones are added into one OtherSeries series, and counted.
type SeriesCap struct {
	Max int

	mu     sync.Mutex
	kept   map[seriesKey]bool
	folded map[seriesKey]bool
	nFold  uint64
}

type seriesKey struct{ container, cgroup, namespace, pod, workload string }

// maxFoldedKeys bounds the memory of which series were folded already;
// beyond it each fold is counted again.
const maxFoldedKeys = 1 << 16

// Fold applies the cap to series and returns what to export, and how many
// distinct series it has ever folded.
func (c *SeriesCap) Fold(series []ObserveSeries) ([]ObserveSeries, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kept == nil {
		c.kept, c.folded = make(map[seriesKey]bool), make(map[seriesKey]bool)
	}
	max := c.Max
	if max <= 0 {
		max = DefaultMaxSeries
	}
	seen := make(map[seriesKey]bool, len(series))
	for _, s := range series {
		seen[s.key()] = true
	}
	for k := range c.kept { // a series gone frees its place
		if !seen[k] {
			delete(c.kept, k)
		}
	}
	// the same order at every scrape, so the same ones are kept
	sort.Slice(series, func(i, j int) bool { return series[i].Cgroup < series[j].Cgroup })
	out := make([]ObserveSeries, 0, len(series))
	var other *ObserveSeries
	for _, s := range series {
		k := s.key()
		if c.kept[k] || len(c.kept) < max {
			c.kept[k] = true
			out = append(out, s)
			continue
		}
		if !c.folded[k] {
			c.nFold++
			if len(c.folded) < maxFoldedKeys {
				c.folded[k] = true
			}
		}
		if other == nil {
			other = &ObserveSeries{Container: OtherSeries, Cgroup: OtherSeries, Namespace: OtherSeries,
				Pod: OtherSeries, Workload: OtherSeries, Stats: &observe.Stats{}}
		}
		other.Stats.Merge(s.Stats)
	}
	if other != nil {
		out = append(out, *other)
	}
	return out, c.nFold
}

func (s ObserveSeries) key() seriesKey {
	return seriesKey{s.Container, s.Cgroup, s.Namespace, s.Pod, s.Workload}
}

// histBuckets is how many log2 slots become buckets; the ones above go
// to +Inf only (2^26 µs is 67 s).
const histBuckets = 26

// constHistogram turns a log2 histogram into a Prometheus one: slot i's
// upper bound, 2^(i+1) µs, is its bucket's le.
func constHistogram(d *prometheus.Desc, h *observe.Hist, labels []string) prometheus.Metric {
	buckets := make(map[float64]uint64, histBuckets)
	var cum uint64
	for i := range histBuckets {
		cum += h.Slots[i]
		buckets[observe.UpperBoundSeconds(i)] = cum
	}
	return prometheus.MustNewConstHistogram(d, h.Count(), h.Sum(), buckets, labels...)
}

// collectObserve exports one reading of the observers.
func (c *Collector) collectObserve(ch chan<- prometheus.Metric, snap ObserveSnapshot) {
	d := &c.desc.observe
	series, folded := c.cap.Fold(snap.Series)
	ch <- counter(d.folded, float64(folded))
	ch <- gauge(d.series, float64(len(series)))
	for what, n := range snap.Losses {
		obs, reason, _ := strings.Cut(what, "/")
		ch <- counter(d.losses, float64(n), obs, reason)
	}
	for obs, n := range snap.Pruned {
		ch <- counter(d.pruned, float64(n), obs)
	}
	for _, s := range series {
		l := append([]string{s.Container, s.Cgroup}, podValues(c.src.PodLabels, s.Namespace, s.Pod, s.Workload)...)
		st := s.Stats
		if st.RunQueue.Count() > 0 || st.OnCPUNs > 0 {
			ch <- constHistogram(d.runq, &st.RunQueue, l)
			ch <- counter(d.oncpu, float64(st.OnCPUNs)/1e9, l...)
		}
		if st.Throttled {
			ch <- counter(d.throttled, float64(st.ThrottledUsec)/1e6, l...)
			ch <- counter(d.throttledPeriods, float64(st.NrThrottled), l...)
		}
		if st.OOMKills > 0 {
			ch <- counter(d.oomKills, float64(st.OOMKills), l...)
		}
		if st.Memory {
			ch <- gauge(d.memory, float64(st.MemoryBytes), l...)
			ch <- counter(d.majorFaults, float64(st.MajorFaults), l...)
		}
		if st.TCPRTT.Count() > 0 || st.TCPConnect.Count() > 0 || st.TCPRetransmits > 0 || st.TCPResets > 0 {
			ch <- constHistogram(d.rtt, &st.TCPRTT, l)
			ch <- constHistogram(d.connect, &st.TCPConnect, l)
			ch <- counter(d.retransmits, float64(st.TCPRetransmits), l...)
			ch <- counter(d.resets, float64(st.TCPResets), l...)
		}
		for port, tp := range st.TCPPorts {
			pl := append(append([]string(nil), l...), strconv.Itoa(int(port)))
			ch <- constHistogram(d.portRTT, &tp.RTT, pl)
			ch <- constHistogram(d.portConnect, &tp.Connect, pl)
			ch <- counter(d.portRetransmits, float64(tp.Retransmits), pl...)
		}
		if st.IOLatency.Count() > 0 {
			ch <- constHistogram(d.ioLatency, &st.IOLatency, l)
			for op := range observe.OpCount {
				ol := append(append([]string(nil), l...), op.String())
				ch <- counter(d.ioBytes, float64(st.IOBytes[op]), ol...)
				ch <- counter(d.ioOps, float64(st.IOOps[op]), ol...)
			}
		}
	}
}

// podValues are the values of the pod labels l asks for, in l.Names'
// order.
func podValues(l output.PodLabels, namespace, pod, workload string) []string {
	var out []string
	for _, x := range []struct {
		on bool
		v  string
	}{{l.Namespace, namespace}, {l.Pod, pod}, {l.Workload, workload}} {
		if x.on {
			out = append(out, x.v)
		}
	}
	return out
}

// observeDescs describe the observers' metrics (docs/metrics.md,
// "Performance").
type observeDescs struct {
	runq, oncpu, throttled, throttledPeriods *prometheus.Desc
	oomKills, memory, majorFaults            *prometheus.Desc
	rtt, connect, retransmits, resets        *prometheus.Desc
	portRTT, portConnect, portRetransmits    *prometheus.Desc
	ioLatency, ioBytes, ioOps                *prometheus.Desc
	folded, series, losses, pruned           *prometheus.Desc
}

func newObserveDescs(n func(name, help string, labels ...string) *prometheus.Desc,
	hist func(name, help string, labels ...string) *prometheus.Desc, pod output.PodLabels) observeDescs {
	l := append([]string{"container", "cgroup"}, pod.Names()...)
	op := append(append([]string(nil), l...), "op")
	port := append(append([]string(nil), l...), "remote_port")
	return observeDescs{
		runq:             hist("sched_runq_latency_seconds", "Time tasks waited in the run queue, from wake-up (or preemption) to running.", l...),
		oncpu:            n("cpu_oncpu_seconds_total", "Time tasks spent running on a CPU.", l...),
		throttled:        n("cpu_throttled_seconds_total", "Time the cgroup was throttled by its CPU quota (cpu.stat).", l...),
		throttledPeriods: n("cpu_throttled_periods_total", "Quota periods in which the cgroup was throttled (cpu.stat nr_throttled).", l...),
		oomKills:         n("oom_kills_total", "Processes the OOM killer chose in the cgroup.", l...),
		memory:           n("memory_usage_bytes", "Memory charged to the cgroup (memory.current, or v1 memory.usage_in_bytes).", l...),
		majorFaults:      n("page_faults_major_total", "Major page faults in the cgroup (memory.stat pgmajfault).", l...),
		rtt:              hist("tcp_rtt_seconds", "Smoothed TCP round-trip time, sampled at each segment received on an established connection.", l...),
		connect:          hist("tcp_connect_latency_seconds", "Time from a TCP SYN sent to the connection established.", l...),
		retransmits:      n("tcp_retransmits_total", "TCP segments retransmitted.", l...),
		resets:           n("tcp_resets_total", "TCP resets sent and received.", l...),
		portRTT:          hist("tcp_remote_port_rtt_seconds", "Smoothed TCP round-trip time of sockets talking to a watched remote port (observe.network.remote_ports).", port...),
		portConnect:      hist("tcp_remote_port_connect_latency_seconds", "Time from a TCP SYN sent to a watched remote port to the connection established.", port...),
		portRetransmits:  n("tcp_remote_port_retransmits_total", "TCP segments retransmitted to a watched remote port.", port...),
		ioLatency:        hist("block_io_latency_seconds", "Block I/O request latency, from issue to the device to completion.", l...),
		ioBytes:          n("block_io_bytes_total", "Bytes of completed block I/O requests, by op (read, write).", op...),
		ioOps:            n("block_io_operations_total", "Completed block I/O requests, by op (read, write).", op...),
		folded:           n("observe_series_folded_total", "Cgroups whose figures the series cap (--observe-max-series) added into the _other series instead of a series of their own."),
		series:           n("observe_series", "Series (cgroups) the observers export, the _other one included."),
		losses:           n("observe_losses_total", "Samples an observer could not keep, by observer and reason: stats_full (its per-cgroup table was full), pending_full (a start timestamp had no room).", "observer", "reason"),
		pruned:           n("observe_pruned_total", "Entries of removed cgroups deleted from an observer's per-cgroup kernel table, by observer.", "observer"),
	}
}
