package intel

import (
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metric names; docs/metrics.md describes them.
const (
	metricIndicators = "vigil_intel_indicators"
	metricRefreshes  = "vigil_intel_refreshes_total"
	metricAge        = "vigil_intel_age_seconds"
	metricMemory     = "vigil_intel_memory_bytes"
)

// MetricFamilies is every family the intel Collector serves, with its
// type: internal/metrics declares them with its own.
func MetricFamilies() map[string]dto.MetricType {
	return map[string]dto.MetricType{
		metricIndicators: dto.MetricType_GAUGE,
		metricRefreshes:  dto.MetricType_COUNTER,
		metricAge:        dto.MetricType_GAUGE,
		metricMemory:     dto.MetricType_GAUGE,
	}
}

// collector reads the sources' status at scrape time.
type collector struct {
	m                               *Manager
	indicators, refreshes, age, mem *prometheus.Desc
}

// Collector exports the sources' metrics: indicators loaded by source and
// type, refreshes by source and result (updated, unchanged, or why one was
// refused), seconds since the last successful refresh, estimated bytes.
func (m *Manager) Collector() prometheus.Collector {
	return &collector{
		m: m,
		indicators: prometheus.NewDesc(metricIndicators,
			"Threat-intelligence indicators in force, by source and type.", []string{"source", "type"}, nil),
		refreshes: prometheus.NewDesc(metricRefreshes,
			"Refreshes of threat-intelligence sources, by source and result: updated, unchanged, or the reason one was refused.",
			[]string{"source", "result"}, nil),
		age: prometheus.NewDesc(metricAge,
			"Seconds since the source's last successful refresh (since the agent started, when none succeeded).", []string{"source"}, nil),
		mem: prometheus.NewDesc(metricMemory,
			"Estimated memory the source's indicators and their indexes hold.", []string{"source"}, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.indicators
	ch <- c.refreshes
	ch <- c.age
	ch <- c.mem
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	now := c.m.opts.Now()
	for _, st := range c.m.Status() {
		for _, t := range []Type{TypeMD5, TypeSHA1, TypeSHA256, TypeSHA512, TypeIP, TypeDomain} {
			ch <- prometheus.MustNewConstMetric(c.indicators, prometheus.GaugeValue, float64(st.Loaded[t]), st.Name, string(t))
		}
		ch <- prometheus.MustNewConstMetric(c.refreshes, prometheus.CounterValue, float64(st.Refreshes-st.Unchanged), st.Name, "updated")
		ch <- prometheus.MustNewConstMetric(c.refreshes, prometheus.CounterValue, float64(st.Unchanged), st.Name, "unchanged")
		for _, r := range slices.Sorted(maps.Keys(st.FailuresByReason)) {
			ch <- prometheus.MustNewConstMetric(c.refreshes, prometheus.CounterValue, float64(st.FailuresByReason[r]), st.Name, r)
		}
		since := st.LastSuccess
		if since.IsZero() {
			since = c.m.started
		}
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, now.Sub(since).Seconds(), st.Name)
		ch <- prometheus.MustNewConstMetric(c.mem, prometheus.GaugeValue, float64(st.Bytes), st.Name)
	}
}
