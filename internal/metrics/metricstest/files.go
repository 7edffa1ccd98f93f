package metricstest

import (
	"fmt"
	"sort"
	"strings"
)

// File is a file of queries vigil ships (a Grafana dashboard, a rules
// file), how to read its queries, and what it must at least use to be the
// file it should be rather than an empty or truncated one.
type File struct {
	// File is the path from the repository's root.
	File    string
	Queries func([]byte) ([]Query, error)
	// MinQueries and MinMetrics bound the queries and distinct metrics.
	MinQueries, MinMetrics int
	// Templates: the file has template variables (a dashboard's).
	Templates bool
	// Uses are metrics it must use.
	Uses []string
	// Observers: its metrics are the performance observers' (vigil run
	// --observe), in a scrape only when they run and saw something.
	Observers bool
}

// Dashboards are the files the tests check against the declared metrics
// (internal/metrics) and against a running agent's scrape
// (internal/agent).
func Dashboards() []File {
	return []File{
		{File: "deploy/grafana/vigil-dashboard.json", Queries: Queries, MinQueries: 20, MinMetrics: 20, Templates: true,
			Uses: []string{"vigil_build_info"}},
		{File: "deploy/grafana/vigil-performance-dashboard.json", Queries: Queries, MinQueries: 20, MinMetrics: 12, Templates: true,
			Uses: []string{"vigil_sched_runq_latency_seconds_bucket", "vigil_tcp_rtt_seconds_bucket",
				"vigil_tcp_connect_latency_seconds_bucket", "vigil_block_io_latency_seconds_bucket",
				"vigil_cpu_oncpu_seconds_total", "vigil_oom_kills_total", "vigil_block_io_bytes_total"}, Observers: true},
		{File: "deploy/prometheus/vigil-performance-rules.yaml", Queries: RuleQueries, MinQueries: 5, MinMetrics: 4,
			Uses:      []string{"vigil_sched_runq_latency_seconds_bucket", "vigil_oom_kills_total", "vigil_tcp_retransmits_total"},
			Observers: true},
	}
}

// Enough says whether queries, templates and the metrics used make f the
// file it should be.
func (f File) Enough(queries, templates int, used map[string]bool) error {
	var missing []string
	for _, m := range f.Uses {
		if !used[m] {
			missing = append(missing, m)
		}
	}
	sort.Strings(missing)
	if queries < f.MinQueries || len(used) < f.MinMetrics || (f.Templates && templates == 0) || len(missing) > 0 {
		return fmt.Errorf("%s: %d queries (%d template variables) over %d metrics, missing %s: not the file it should be",
			f.File, queries, templates, len(used), strings.Join(missing, ", "))
	}
	return nil
}
