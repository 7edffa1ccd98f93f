package api

import (
	"sort"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/output"
)

// Status is GET /v1/status: what `vigil status` prints.
type Status struct {
	Version       string              `json:"version"`
	PID           int                 `json:"pid"`
	Node          string              `json:"node"`
	Started       time.Time           `json:"started"`
	UptimeSeconds float64             `json:"uptime_seconds"`
	Sensors       []SensorStatus      `json:"sensors"`
	Rules         int                 `json:"rules"`
	Policies      int                 `json:"policies"`
	Events        EventsStatus        `json:"events"`
	Drops         DropsStatus         `json:"drops"`
	Outputs       []output.RouteStats `json:"outputs"`
	Subscribers   int                 `json:"subscribers"`
	// MetricsAddress is where /metrics is served, "" if nowhere.
	MetricsAddress string `json:"metrics_address,omitempty"`
	BPFStats       bool   `json:"bpf_stats"`
	// Intel sums up the threat-intelligence sources; nil without any.
	Intel *IntelSummary `json:"intel,omitempty"`
}

// IntelSummary is the intel line of vigil status.
type IntelSummary struct {
	Sources    int `json:"sources"`
	Indicators int `json:"indicators"`
	// Failing counts sources whose last refresh failed (their last good
	// set stays in force).
	Failing    int       `json:"failing"`
	LastUpdate time.Time `json:"last_update"`
	ApplyError string    `json:"apply_error,omitempty"`
}

// SensorStatus is one sensor's mode: full, degraded or off.
type SensorStatus struct {
	Name string `json:"name"`
	Mode string `json:"mode"`
}

// EventsStatus counts what the sensors delivered.
type EventsStatus struct {
	Total uint64 `json:"total"`
	// PerSecond is the rate over the last few seconds.
	PerSecond float64           `json:"per_second"`
	ByKind    map[string]uint64 `json:"by_kind"`
}

// DropsStatus says what was lost, and where.
type DropsStatus struct {
	// Kernel is lost in the kernel, by reason (ringbuf_full, map_full);
	// Truncated records arrived with a string cut short.
	Kernel    map[string]uint64 `json:"kernel"`
	Truncated uint64            `json:"truncated"`
	Malformed uint64            `json:"malformed"`
	// Outputs counts items outputs dropped (queue full or given up).
	Outputs uint64 `json:"outputs"`
	// Streams counts lines live streams could not take.
	Streams uint64 `json:"streams"`
}

// rate keeps recent (time, total) samples to say events per second.
type rate struct {
	mu      sync.Mutex
	samples []sample
}

type sample struct {
	at    time.Time
	total uint64
}

const rateWindow = 10 * time.Second

func (r *rate) add(at time.Time, total uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, sample{at, total})
	i := 0
	for i < len(r.samples)-2 && at.Sub(r.samples[i].at) > rateWindow {
		i++
	}
	r.samples = append(r.samples[:0], r.samples[i:]...)
}

func (r *rate) perSecond() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) < 2 {
		return 0
	}
	first, last := r.samples[0], r.samples[len(r.samples)-1]
	dt := last.at.Sub(first.at).Seconds()
	if dt <= 0 || last.total < first.total {
		return 0
	}
	return float64(last.total-first.total) / dt
}

func total(records map[string]uint64) uint64 {
	var n uint64
	for _, c := range records {
		n += c
	}
	return n
}

// status builds the report from the sources.
func (s *Server) status() Status {
	o := s.opts
	st := Status{
		Version: o.Version, PID: o.PID, Node: o.Node, Started: o.Started,
		UptimeSeconds:  time.Since(o.Started).Seconds(),
		MetricsAddress: o.MetricsAddress, BPFStats: o.BPFStats,
		Drops: DropsStatus{Kernel: map[string]uint64{}},
	}
	if o.Pipeline != nil {
		p := o.Pipeline.PipelineStats()
		for _, sn := range p.Sensors {
			st.Sensors = append(st.Sensors, SensorStatus{Name: sn.Name, Mode: sn.Mode})
		}
		st.Rules, st.Policies = p.Rules, p.Policies
		st.Events = EventsStatus{Total: total(p.Records), PerSecond: s.rate.perSecond(), ByKind: p.Records}
		for _, l := range p.KernelLosses {
			if l.Reason == "truncated" {
				st.Drops.Truncated += l.Count
			} else {
				st.Drops.Kernel[l.Reason] += l.Count
			}
		}
		st.Drops.Malformed = p.Malformed
	}
	if o.Outputs != nil {
		st.Outputs = o.Outputs.Stats()
		for _, r := range st.Outputs {
			st.Drops.Outputs += r.QueueDropped + r.SinkDropped
		}
		sort.SliceStable(st.Outputs, func(i, j int) bool { return st.Outputs[i].Name < st.Outputs[j].Name })
	}
	if o.Intel != nil {
		st.Intel = summarize(o.Intel.IntelReport())
	}
	if o.Hub != nil {
		ss := o.Hub.StreamStats()
		st.Subscribers, st.Drops.Streams = ss.Subscribers, ss.Dropped
	}
	return st
}

// sampleRate records the event total every second, for PerSecond.
func (s *Server) sampleRate(p metrics.Pipeline) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		s.rate.add(time.Now(), total(p.PipelineStats().Records))
		select {
		case <-tick.C:
		case <-s.stop:
			return
		}
	}
}

func summarize(rep IntelReport) *IntelSummary {
	sum := &IntelSummary{Sources: len(rep.Sources), Indicators: rep.Indicators, ApplyError: rep.ApplyError}
	for _, src := range rep.Sources {
		if src.LastError != "" {
			sum.Failing++
		}
		if src.LastSuccess.After(sum.LastUpdate) {
			sum.LastUpdate = src.LastSuccess
		}
	}
	return sum
}
