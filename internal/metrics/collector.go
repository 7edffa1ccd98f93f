package metrics

import (
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-sec/vigil/internal/output"
)

// Sources are what a Collector reads; any may be nil.
type Sources struct {
	Pipeline Pipeline
	Outputs  Outputs
	Streams  Streams
	// BPFStats says the agent holds BPF run-time statistics on (the
	// sysctl does not show what BPF_ENABLE_STATS switched on).
	BPFStats bool
	// Observe, when set, are the performance observers' figures.
	Observe Observations
	// MaxSeries caps the observers' series (0: DefaultMaxSeries).
	MaxSeries int
	// PodLabels are the pod labels alerts_total and enforcement_total
	// carry; the Outputs must count alerts with the same (the fan-out's
	// AlertLabels).
	PodLabels output.PodLabels
	// Intel is the threat-intelligence sources' collector
	// (intel.Manager.Collector), nil without sources: NewRegistry
	// registers it beside the Collector.
	Intel prometheus.Collector
}

// Collector turns the sources' counters into Prometheus metrics at each
// scrape.
type Collector struct {
	src  Sources
	desc descs
	cap  *SeriesCap
}

// NewCollector reads from src.
func NewCollector(src Sources) *Collector {
	return &Collector{src: src, desc: newDescs(src.PodLabels), cap: &SeriesCap{Max: src.MaxSeries}}
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.desc.all() {
		ch <- d
	}
}

// Collect reads the sources once.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	d := &c.desc
	if c.src.BPFStats || bpfStatsEnabled() {
		ch <- gauge(d.bpfStatsEnabled, 1)
	} else {
		ch <- gauge(d.bpfStatsEnabled, 0)
	}
	drops := map[string]float64{
		"kernel_ringbuf_full": 0, "kernel_truncated": 0, "kernel_map_full": 0,
		"decode": 0, "output_queue": 0, "output_sink": 0, "api_stream": 0,
	}
	if p := c.src.Pipeline; p != nil {
		c.collectPipeline(ch, p.PipelineStats(), drops)
	}
	if o := c.src.Outputs; o != nil {
		c.collectOutputs(ch, o.Stats(), o.Alerts(), drops)
	}
	if o := c.src.Observe; o != nil {
		c.collectObserve(ch, o.ObserveSnapshot())
	}
	if s := c.src.Streams; s != nil {
		st := s.StreamStats()
		ch <- gauge(d.apiSubscribers, float64(st.Subscribers))
		drops["api_stream"] = float64(st.Dropped)
	}
	for stage, n := range drops {
		ch <- counter(d.drops, n, stage)
	}
}

func (c *Collector) collectPipeline(ch chan<- prometheus.Metric, s PipelineStats, drops map[string]float64) {
	d := &c.desc
	for kind, n := range s.Records {
		ch <- counter(d.events, float64(n), kind)
	}
	// every kind seen has its three counters, zero or not, so that
	// dashboards and alerting rules find the series before the first loss
	lost := map[[2]string]uint64{}
	for kind := range s.Records {
		for _, reason := range []string{"ringbuf_full", "truncated", "map_full"} {
			lost[[2]string{reason, kind}] = 0
		}
	}
	for _, l := range s.KernelLosses {
		lost[[2]string{l.Reason, l.Kind}] += l.Count
		drops["kernel_"+l.Reason] += float64(l.Count)
	}
	for k, n := range lost {
		ch <- counter(d.kernelDrops, float64(n), k[0], k[1])
	}
	drops["decode"] = float64(s.Malformed)
	ch <- gauge(d.ringSize, float64(s.RingSize))
	ch <- gauge(d.ringPending, float64(s.RingPending))
	fill := 0.0
	if s.RingSize > 0 {
		fill = float64(s.RingPending) / float64(s.RingSize)
	}
	ch <- gauge(d.ringFill, fill)
	ch <- gauge(d.procEntries, float64(s.ProcCache.Entries))
	ch <- counter(d.procEvictions, float64(s.ProcCache.Evictions))
	ch <- counter(d.procLiveEvictions, float64(s.ProcCache.LiveEvictions))
	ch <- counter(d.procRecovered, float64(s.ProcCache.Recovered))
	ch <- counter(d.procExpired, float64(s.ProcCache.Expired))
	ch <- gauge(d.ctrEntries, float64(s.Containers.Entries))
	ch <- counter(d.ctrEvictions, float64(s.Containers.Evictions))
	ch <- counter(d.ctrHeld, float64(s.Containers.Held))
	ch <- gauge(d.ctrHeldNow, float64(s.Containers.HeldNow))
	for _, reason := range []string{"settled", "gave_up", "overflow"} {
		ch <- counter(d.ctrRelease, float64(s.Containers.Releases[reason]), reason)
	}
	for _, sn := range s.Sensors {
		up := 0.0
		if sn.Mode != "off" {
			up = 1
		}
		ch <- gauge(d.sensorUp, up, sn.Name, sn.Mode)
	}
	for _, p := range s.Programs {
		ch <- counter(d.progRuns, float64(p.RunCount), p.Sensor, p.Name)
		ch <- counter(d.progTime, p.RunTime.Seconds(), p.Sensor, p.Name)
		ch <- counter(d.progMisses, float64(p.RecursionMisses), p.Sensor, p.Name)
	}
	ch <- histogram(d.ruleEval, s.RuleEval)
	ch <- gauge(d.rules, float64(s.Rules))
	ch <- gauge(d.policies, float64(s.Policies))
	for _, what := range []string{"rules", "policies"} {
		for _, result := range []string{"applied", "rejected"} {
			ch <- counter(d.reloads, float64(s.Reloads[ReloadKey{What: what, Result: result}]), what, result)
		}
	}
	ch <- counter(d.sinkErrors, float64(s.SinkErrors))
	for _, m := range s.KernelModules {
		ch <- gauge(d.kernelModules, float64(m.Count), m.Kind, m.Taint)
	}
	if e := s.Enforcement; e != nil {
		c.collectEnforcement(ch, e)
	}
	if in := s.Intel; in != nil {
		for _, h := range in.Hits {
			ch <- counter(d.intelHits, float64(h.Count), h.Source, h.Type, h.Action)
		}
		ch <- counter(d.intelHashed, float64(in.Hashed))
		ch <- counter(d.intelHashDropped, float64(in.HashDropped))
		ch <- counter(d.intelDNSSuppressed, float64(in.DNSSuppressed))
		ch <- counter(d.intelApplyFailures, float64(in.ApplyFailures))
	}
	c.collectMetadata(ch, s)
}

func (c *Collector) collectEnforcement(ch chan<- prometheus.Metric, e *Enforcement) {
	d := &c.desc
	for _, h := range e.Hits {
		ch <- counter(d.policyHits, float64(h.Count), h.Policy, h.Action)
	}
	ch <- counter(d.userKills, float64(e.UserspaceKills))
	ch <- counter(d.userKillFails, float64(e.UserspaceKillFailures))
	ch <- histogram(d.userKillLatency, e.KillLatency)
	for _, outcome := range []string{"held", "killed", "overflow", "late", "learn_overflow", "expired", "not_held"} {
		ch <- counter(d.execHolds, float64(e.Holds[outcome]), outcome)
	}
	ch <- counter(d.packetsDropped, float64(e.PacketsDropped))
	ch <- counter(d.packetBytesDropped, float64(e.PacketBytesDropped))
}

func histogram(d *prometheus.Desc, h Histogram) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		buckets[b] = h.Counts[i]
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets)
}

func (c *Collector) collectOutputs(ch chan<- prometheus.Metric, routes []output.RouteStats, alerts []output.AlertCount, drops map[string]float64) {
	d := &c.desc
	for _, r := range routes {
		ch <- gauge(d.outQueueDepth, float64(r.QueueDepth), r.Name, r.Type)
		ch <- gauge(d.outQueueCap, float64(r.QueueCapacity), r.Name, r.Type)
		ch <- counter(d.outWritten, float64(r.Written), r.Name, r.Type)
		ch <- counter(d.outDelivered, float64(r.Delivered), r.Name, r.Type)
		ch <- counter(d.outDropped, float64(r.QueueDropped), r.Name, r.Type, "queue_full")
		ch <- counter(d.outDropped, float64(r.SinkDropped), r.Name, r.Type, "sink")
		ch <- counter(d.outErrors, float64(r.Errors), r.Name, r.Type)
		ch <- counter(d.outRetries, float64(r.Retries), r.Name, r.Type)
		up := 0.0
		if r.Healthy {
			up = 1
		}
		ch <- gauge(d.outUp, up, r.Name, r.Type)
		last := 0.0
		if !r.LastSuccess.IsZero() {
			last = float64(r.LastSuccess.UnixNano()) / 1e9
		}
		ch <- gauge(d.outLastOK, last, r.Name, r.Type)
		drops["output_queue"] += float64(r.QueueDropped)
		drops["output_sink"] += float64(r.SinkDropped)
	}
	// one rule may act with several severities over time: enforcement
	// counts add them up
	type actedKey struct{ rule, action, namespace, pod, workload string }
	acted := map[actedKey]uint64{}
	for _, a := range alerts {
		ch <- counter(d.alerts, float64(a.Count), c.podValues([]string{a.Rule, string(a.Severity), string(a.Action)}, a)...)
		if a.Action != "alert" {
			acted[actedKey{a.Rule, string(a.Action), a.Namespace, a.Pod, a.Workload}] += a.Count
		}
	}
	for k, n := range acted {
		a := output.AlertCount{Namespace: k.namespace, Pod: k.pod, Workload: k.workload}
		ch <- counter(d.enforcement, float64(n), c.podValues([]string{k.rule, k.action}, a)...)
	}
}

// podValues appends a's pod label values, those the collector declared.
func (c *Collector) podValues(vals []string, a output.AlertCount) []string {
	l := c.src.PodLabels
	if l.Namespace {
		vals = append(vals, a.Namespace)
	}
	if l.Pod {
		vals = append(vals, a.Pod)
	}
	if l.Workload {
		vals = append(vals, a.Workload)
	}
	return vals
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

// bpfStatsEnabled reads the sysctl: an administrator may have switched it
// on.
func bpfStatsEnabled() bool {
	raw, err := os.ReadFile("/proc/sys/kernel/bpf_stats_enabled")
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	return err == nil && n != 0
}
