package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/output"
)

// pipeline and outputs are fixed readings, as the agent and the fan-out
// would give.
type pipeline struct{ s PipelineStats }

func (p pipeline) PipelineStats() PipelineStats { return p.s }

type outputs struct {
	routes []output.RouteStats
	alerts []output.AlertCount
}

func (o outputs) Stats() []output.RouteStats  { return o.routes }
func (o outputs) Alerts() []output.AlertCount { return o.alerts }

func sources() Sources {
	feeds, err := intel.NewManager([]intel.SourceConfig{{Name: "feed", Kind: intel.KindList, URL: "/nonexistent/vh14f.txt"}}, intel.Options{})
	if err != nil {
		panic(err)
	}
	return Sources{
		Intel: feeds.Collector(),
		Pipeline: pipeline{PipelineStats{
			Records:      map[string]uint64{"process_exec": 10, "file_open": 5},
			KernelLosses: []KernelLoss{{Reason: "ringbuf_full", Kind: "process_exec", Count: 3}, {Reason: "truncated", Kind: "file_open", Count: 1}},
			Malformed:    2,
			RingPending:  1024, RingSize: 4096,
			Sensors:  []Sensor{{Name: "process", Mode: "full"}, {Name: "file", Mode: "off"}},
			Programs: []Program{{Sensor: "process", Name: "handle_exec", RunCount: 7, RunTime: 3 * time.Microsecond}},
			RuleEval: Histogram{Bounds: []float64{1e-6, 1e-5}, Counts: []uint64{4, 6}, Count: 7, Sum: 0.001},
			Rules:    12,
			Enforcement: &Enforcement{
				Hits:           []PolicyHit{{Policy: "no-nc", Action: "killed", Count: 4}},
				UserspaceKills: 2, UserspaceKillFailures: 1,
				KillLatency:    Histogram{Bounds: []float64{1e-4, 2e-4}, Counts: []uint64{1, 2}, Count: 2, Sum: 0.0003},
				Holds:          map[string]uint64{"held": 5, "killed": 1},
				PacketsDropped: 100, PacketBytesDropped: 6000,
			},
			Intel:      &Intel{Hits: []IntelHit{{Source: "circl", Type: "sha256", Action: "killed", Count: 1}}, Hashed: 3},
			Containers: Containers{Entries: 3, Evictions: 1, Held: 4, Releases: map[string]uint64{"settled": 1}},
			Kubernetes: &Kubernetes{Pods: 5, Retained: 1, MaxPods: 8192, CRIOK: 4, WatchErrors: 2, WatchRestarts: 3,
				Synced: true, Connected: true, LastOK: time.Unix(1700000000, 0)},
			KernelModules: []KernelModules{{Kind: "builtin", Taint: "none", Count: 82}, {Kind: "loaded", Taint: "unsigned_module", Count: 2}},
		}},
		Outputs: outputs{
			routes: []output.RouteStats{{Name: "siem", Type: "webhook", QueueDepth: 3, QueueCapacity: 10, QueueDropped: 4, SinkDropped: 1, Healthy: true}},
			alerts: []output.AlertCount{
				{Rule: "r", Severity: event.SeverityHigh, Action: event.ActionWouldKill, Count: 2},
				{Rule: "r", Severity: event.SeverityLow, Action: event.ActionWouldKill, Count: 1},
				{Rule: "q", Severity: event.SeverityLow, Action: event.ActionAlert, Count: 5},
			},
		},
		Observe: observations{fullObserveSnapshot()},
	}
}

// TestServerScrape serves a registry on loopback and reads it back with
// expfmt, checking that the numbers add up per stage and that one rule
// with two severities makes one enforcement series.
func TestServerScrape(t *testing.T) {
	reg := NewRegistry(sources(), "v0-test")
	ready := func() error { return nil }
	srv, err := Listen(ServerOptions{Address: "127.0.0.1:0", Registry: reg, Ready: ready})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer func() {
		srv.Shutdown(context.Background())
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	resp, err := client.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string, labels ...string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no %s", name)
		}
	next:
		for _, m := range f.Metric {
			for i := 0; i+1 < len(labels); i += 2 {
				if labelValue(m, labels[i]) != labels[i+1] {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	for _, c := range []struct {
		got, want float64
		what      string
	}{
		{get("vigil_drops_total", "stage", "kernel_ringbuf_full"), 3, "ringbuf drops"},
		{get("vigil_drops_total", "stage", "kernel_truncated"), 1, "truncations"},
		{get("vigil_drops_total", "stage", "decode"), 2, "malformed"},
		{get("vigil_drops_total", "stage", "output_queue"), 4, "queue drops"},
		{get("vigil_drops_total", "stage", "output_sink"), 1, "sink drops"},
		{get("vigil_kernel_drops_total", "reason", "map_full", "kind", "process_exec"), 0, "zero series for a seen kind"},
		{get("vigil_enforcement_total", "rule", "r", "action", "would_kill"), 3, "enforcement summed over severities"},
		{get("vigil_alerts_total", "rule", "q", "severity", "low", "action", "alert"), 5, "alerts"},
		{get("vigil_ring_buffer_fill_ratio"), 0.25, "fill"},
		{get("vigil_sensor_up", "sensor", "file", "mode", "off"), 0, "sensor off"},
		{get("vigil_bpf_program_runs_total", "program", "handle_exec"), 7, "program runs"},
		{get("vigil_rule_evaluation_seconds"), 7, "histogram count"},
		{get("vigil_output_queue_depth", "output", "siem", "type", "webhook"), 3, "queue depth"},
		{get("vigil_rules_loaded"), 12, "rules"},
		{get("vigil_kernel_modules", "kind", "loaded", "taint", "unsigned_module"), 2, "unsigned modules"},
		{get("vigil_build_info", "version", "v0-test"), 1, "build info"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	if fams["process_resident_memory_bytes"] == nil || fams["go_goroutines"] == nil {
		t.Error("no process or Go runtime metrics")
	}
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		resp, err := client.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != want {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestAddresses(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:9549", "[::1]:1", "localhost:80", "127.0.0.2:0"} {
		if err := CheckAddress(ok, false); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"0.0.0.0:9549", ":9549", "10.1.2.3:80", "example.com:80", "127.0.0.1", "127.0.0.1:99999"} {
		if err := CheckAddress(bad, false); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if err := CheckAddress("0.0.0.0:9549", true); err != nil {
		t.Errorf("allowed remote refused: %v", err)
	}
	if got := LoopbackByDefault(":9549"); got != "127.0.0.1:9549" {
		t.Errorf("LoopbackByDefault(:9549) = %s", got)
	}
	if _, err := Listen(ServerOptions{Address: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("Listen on 0.0.0.0: %v", err)
	}
}
