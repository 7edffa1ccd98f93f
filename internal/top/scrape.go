// Package top turns scrapes of the agent's metrics endpoint into the rows
// of `vigil top`: per container, the rates of its counters and the
// quantiles of its latency histograms between two scrapes, sorted, and
// written as a table (names escaped for the terminal) or as JSON.
//
// It reads only the Prometheus text the agent serves, the same contract
// Grafana reads, so `vigil top` needs no API of its own and works against
// any agent that exports the observers' metrics.
package top

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The metric families top reads (docs/metrics.md).
const (
	MetricOnCPU       = "vigil_cpu_oncpu_seconds_total"
	MetricThrottled   = "vigil_cpu_throttled_seconds_total"
	MetricRunq        = "vigil_sched_runq_latency_seconds"
	MetricIOBytes     = "vigil_block_io_bytes_total"
	MetricIOOps       = "vigil_block_io_operations_total"
	MetricIOLatency   = "vigil_block_io_latency_seconds"
	MetricRTT         = "vigil_tcp_rtt_seconds"
	MetricRetransmits = "vigil_tcp_retransmits_total"
	MetricOOMKills    = "vigil_oom_kills_total"
	MetricMemory      = "vigil_memory_usage_bytes"
)

// Key names a container as the agent labels it: the container, its
// cgroup, and its pod and namespace when the Kubernetes metadata is on.
// Cgroups outside containers (services, the root) have no container name
// and are told apart by their cgroup.
type Key struct {
	Namespace string `json:"namespace,omitempty"`
	Pod       string `json:"pod,omitempty"`
	Container string `json:"container"`
	Cgroup    string `json:"cgroup"`
}

// Histogram is a cumulative histogram as scraped: bucket upper bounds in
// increasing order with their cumulative counts, and the total count.
type Histogram struct {
	Bounds []float64
	Counts []float64
	Count  float64
}

// Sample is what one scrape says of one container: cumulative counters,
// histograms and gauges, summed over the series that carry its labels
// (read and write, for example).
type Sample struct {
	OnCPU       float64
	Throttled   float64
	IOBytes     float64
	IOOps       float64
	Retransmits float64
	OOMKills    float64
	Memory      float64
	HasMemory   bool
	Runq        Histogram
	IOLatency   Histogram
	RTT         Histogram
}

// Snapshot is one scrape: when it was taken and each container's sample.
type Snapshot struct {
	Time       time.Time
	Containers map[Key]*Sample
}

// Parse reads a scrape in the Prometheus text format taken at t.
func Parse(r io.Reader, t time.Time) (Snapshot, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Snapshot{}, fmt.Errorf("parse the scrape: %w", err)
	}
	s := Snapshot{Time: t, Containers: map[Key]*Sample{}}
	for name, f := range fams {
		if !reads(name) {
			continue
		}
		for _, m := range f.Metric {
			smp := s.sample(m)
			switch name {
			case MetricOnCPU:
				smp.OnCPU += scalar(m)
			case MetricThrottled:
				smp.Throttled += scalar(m)
			case MetricIOBytes:
				smp.IOBytes += scalar(m)
			case MetricIOOps:
				smp.IOOps += scalar(m)
			case MetricRetransmits:
				smp.Retransmits += scalar(m)
			case MetricOOMKills:
				smp.OOMKills += scalar(m)
			case MetricMemory:
				smp.Memory += scalar(m)
				smp.HasMemory = true
			case MetricRunq:
				smp.Runq.add(m.GetHistogram())
			case MetricIOLatency:
				smp.IOLatency.add(m.GetHistogram())
			case MetricRTT:
				smp.RTT.add(m.GetHistogram())
			}
		}
	}
	return s, nil
}

// reads says whether Parse reads the family name.
func reads(name string) bool {
	switch name {
	case MetricOnCPU, MetricThrottled, MetricRunq, MetricIOBytes, MetricIOOps, MetricIOLatency, MetricRTT,
		MetricRetransmits, MetricOOMKills, MetricMemory:
		return true
	}
	return false
}

// sample is the sample of m's container, created on first use. A series
// without a container label is not a container's and lands in a sample
// nobody keeps.
func (s *Snapshot) sample(m *dto.Metric) *Sample {
	var k Key
	has := false
	for _, l := range m.Label {
		switch l.GetName() {
		case "container":
			k.Container, has = l.GetValue(), true
		case "cgroup":
			k.Cgroup = l.GetValue()
		case "pod":
			k.Pod = l.GetValue()
		case "namespace":
			k.Namespace = l.GetValue()
		}
	}
	if !has {
		return &Sample{}
	}
	smp := s.Containers[k]
	if smp == nil {
		smp = &Sample{}
		s.Containers[k] = smp
	}
	return smp
}

func scalar(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

// add sums h into the histogram (the read and write series of one
// container, say). The series of one family share their buckets; where
// they do not, a bound one side lacks takes that side's count at its
// next lower bound, which a cumulative histogram guarantees is not more
// than the truth.
func (hg *Histogram) add(h *dto.Histogram) {
	if h == nil {
		return
	}
	var other Histogram
	for _, b := range h.Bucket {
		other.Bounds = append(other.Bounds, b.GetUpperBound())
		other.Counts = append(other.Counts, float64(b.GetCumulativeCount()))
	}
	other.Count = float64(h.GetSampleCount())
	bounds := map[float64]bool{math.Inf(1): true}
	for _, b := range hg.Bounds {
		bounds[b] = true
	}
	for _, b := range other.Bounds {
		bounds[b] = true
	}
	merged := Histogram{Count: hg.Count + other.Count}
	for b := range bounds {
		merged.Bounds = append(merged.Bounds, b)
	}
	sort.Float64s(merged.Bounds)
	for _, b := range merged.Bounds {
		merged.Counts = append(merged.Counts, hg.at(b)+other.at(b))
	}
	*hg = merged
}

// at is the cumulative count at bound b: the count of the largest bound
// not above it, the total at +Inf.
func (hg *Histogram) at(b float64) float64 {
	if math.IsInf(b, 1) {
		return hg.Count
	}
	i := sort.SearchFloat64s(hg.Bounds, b) // first bound >= b
	if i < len(hg.Bounds) && hg.Bounds[i] == b {
		return hg.Counts[i]
	}
	if i == 0 {
		return 0
	}
	return hg.Counts[i-1]
}

// Scrape fetches url (the agent's /metrics) and parses it.
func Scrape(c *http.Client, url string) (Snapshot, error) {
	resp, err := c.Get(url)
	if err != nil {
		return Snapshot{}, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close() //nolint:errcheck // a read-only body: closing it has nothing to report
	if resp.StatusCode != http.StatusOK {
		return Snapshot{}, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	return Parse(resp.Body, time.Now())
}
