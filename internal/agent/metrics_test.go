package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/policy"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/metrics/metricstest"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/output/file"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// served is an in-process agent with its outputs, metrics and API.
type served struct {
	*Agent
	outs    *Outputs
	svc     *Services
	http    *http.Client
	metrics string
}

// serve starts an agent limited to cg with the rules given, a file
// output, metrics on a free loopback port with BPF statistics on, and
// the API on a socket in a temporary directory. Everything stops when the
// test ends. opts change the configuration before the agent starts.
func serve(t *testing.T, cg testenv.Cgroup, rules string, opts ...func(*Config)) *served {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rs, err := rule.Compile([]rule.Source{{Name: "test-rules.yaml", Data: []byte(rules)}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	outs, err := OpenOutputs([]config.Output{{Name: "file", Type: config.TypeFile, Filter: output.All(),
		File: &file.Options{Path: filepath.Join(dir, "events.json"), Format: output.FormatJSON}}}, config.Env{}, output.PodLabels{}, log)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Ring: ring.DefaultConfig(), ProcTree: proctree.DefaultConfig(), Cgroup: cg.Rel(),
		Rules: rule.NewEngine(rs, rule.Config{}), Sink: outs.Fanout, Log: log,
		// as vigil run runs by default: with the enforce stage, whose
		// counters are exported too
		Enforce: &EnforceConfig{PinDir: testenv.PinDir(t), Policies: []policy.Policy{{Name: "scrape-test", Mode: policy.Monitor,
			Scope: policy.Scope{Cgroup: cg.Path}, Modules: &policy.ModuleRule{}}}}}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		outs.Close()
		t.Fatalf("start agent: %v", err)
	}
	svc, err := a.Serve(ServeConfig{Version: "test", Outputs: outs, Log: log,
		Metrics: config.Metrics{Address: "127.0.0.1:0", BPFStats: true}, Socket: filepath.Join(dir, "vigil.sock")})
	if err != nil {
		a.Close()
		outs.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	s := &served{Agent: a, outs: outs, svc: svc, metrics: "http://" + svc.MetricsAddr(),
		http: &http.Client{Timeout: waitLimit, Transport: &http.Transport{DisableKeepAlives: true}}}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent run: %v", err)
		}
		for _, c := range []io.Closer{outs, svc, a} {
			if err := c.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		}
	})
	return s
}

func (s *served) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := s.http.Get(s.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the scrape: %v", err)
	}
	return fams
}

// value is the value of the series of family name whose labels include
// want; ok is false when there is none.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

const metricsTestRules = `
- rule: metrics_test_marker
  description: the metrics test's marker ran
  condition: kind == "process_exec" && process.args.exists(a, a == "%[1]s")
  severity: medium
  message: "marker run by {process.binary}"
- rule: metrics_test_would_kill
  description: the metrics test's marker would be killed
  condition: kind == "process_exec" && process.args.exists(a, a == "%[1]s")
  severity: critical
  action: kill
  message: "would kill {process.binary}"
`

// TestMetricsScrape runs a real agent, makes a real process trip two
// rules, and reads the agent's /metrics with expfmt: the events, alerts,
// enforcement, BPF program statistics, rule timings, outputs and the
// process's own CPU and memory are all there, and /healthz and /readyz
// answer. Then every metric the Grafana dashboard uses must be in it.
func TestMetricsScrape(t *testing.T) {
	testenv.RequirePrivileged(t)
	cg := testenv.NewCgroup(t)
	marker := fmt.Sprintf("vigil-metrics-%d", time.Now().UnixNano())
	s := serve(t, cg, fmt.Sprintf(metricsTestRules, marker))

	// The kill rule runs in user space, after the exec: the agent's
	// SIGKILL may reach /bin/true before it exits, or not. Either is the
	// design; any other end is not.
	cmd := exec.Command("/bin/true", marker)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	runErr := cmd.Run()
	var exitErr *exec.ExitError
	sigkilled := errors.As(runErr, &exitErr) && exitErr.Sys().(syscall.WaitStatus).Signaled() &&
		exitErr.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
	if runErr != nil && !sigkilled {
		t.Fatalf("/bin/true %s: %v; want it to exit 0, or to die by the agent's SIGKILL", marker, runErr)
	}
	var fams map[string]*dto.MetricFamily
	// only a bound on a hung agent: the loop ends as soon as all is counted
	deadline := time.Now().Add(waitLimit)
	for {
		fams = s.scrape(t)
		// counted when raised, then written by the file output
		alerts, _ := value(fams, "vigil_alerts_total", map[string]string{"rule": "metrics_test_marker"})
		written, _ := value(fams, "vigil_output_written_total", map[string]string{"output": "file"})
		up, _ := value(fams, "vigil_output_up", map[string]string{"output": "file"})
		// the process cache's size is published when the ring drains,
		// a moment after the alerts are counted
		cached, _ := value(fams, "vigil_process_cache_entries", nil)
		if alerts == 1 && written >= 2 && up == 1 && cached >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the marker's alert was not counted and written within %v", waitLimit)
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, c := range []struct {
		name    string
		labels  map[string]string
		atLeast float64
	}{
		{"vigil_events_total", map[string]string{"kind": "process_exec"}, 1},
		{"vigil_alerts_total", map[string]string{"rule": "metrics_test_marker", "severity": "medium", "action": "alert"}, 1},
		{"vigil_bpf_stats_enabled", nil, 1},
		{"vigil_bpf_program_runs_total", map[string]string{"sensor": "process", "program": "handle_exec"}, 1},
		{"vigil_bpf_program_run_seconds_total", map[string]string{"sensor": "process", "program": "handle_exec"}, 1e-9},
		{"vigil_rule_evaluation_seconds", nil, 1},
		{"vigil_rules_loaded", nil, 2},
		{"vigil_sensor_up", map[string]string{"sensor": "process", "mode": "full"}, 1},
		{"vigil_ring_buffer_size_bytes", nil, float64(ring.DefaultConfig().Size)},
		{"vigil_process_cache_entries", nil, 1},
		{"vigil_output_written_total", map[string]string{"output": "file", "type": "file"}, 1},
		{"vigil_output_up", map[string]string{"output": "file"}, 1},
		{"vigil_output_queue_capacity", map[string]string{"output": "file"}, output.DefaultQueue},
		{"process_cpu_seconds_total", nil, 1e-6},
		{"process_resident_memory_bytes", nil, 1 << 20},
		{"vigil_build_info", map[string]string{"version": "test"}, 1},
		{"vigil_sink_errors_total", nil, 0},
	} {
		v, ok := value(fams, c.name, c.labels)
		if !ok || v < c.atLeast {
			t.Errorf("%s%v = %v (present %v), want at least %v", c.name, c.labels, v, ok, c.atLeast)
		}
	}
	// the kill rule runs in user space: killed, or would_kill when
	// /bin/true had exited before the agent's SIGKILL. A SIGKILL that
	// reached it unreaped still counts as killed, so only a process that
	// died by SIGKILL decides which: the agent's kill, counted as such.
	killed, _ := value(fams, "vigil_enforcement_total", map[string]string{"rule": "metrics_test_would_kill", "action": "killed"})
	wouldKill, _ := value(fams, "vigil_enforcement_total", map[string]string{"rule": "metrics_test_would_kill", "action": "would_kill"})
	if killed+wouldKill != 1 || (sigkilled && killed != 1) {
		t.Errorf("vigil_enforcement_total of the kill rule: killed %v, would_kill %v (/bin/true died by SIGKILL: %v); want one, killed if it did",
			killed, wouldKill, sigkilled)
	}
	for _, stage := range []string{"kernel_ringbuf_full", "kernel_truncated", "kernel_map_full", "decode",
		"output_queue", "output_sink", "api_stream"} {
		if _, ok := value(fams, "vigil_drops_total", map[string]string{"stage": stage}); !ok {
			t.Errorf("vigil_drops_total has no stage %q", stage)
		}
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/nothing": 404} {
		resp, err := s.http.Get(s.metrics + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	for _, d := range metricstest.Dashboards() {
		if !d.Observers { // the observers' have a test of their own
			checkDashboard(t, fams, d)
		}
	}
}

// checkDashboard reads every query of a dashboard or rules file
// (panels, panels in rows, template variables, annotations; rules'
// expressions) and checks each metric it names is in the scrape of the
// running agent. internal/metrics checks the same against the declared
// metrics, without privileges.
func checkDashboard(t *testing.T, fams map[string]*dto.MetricFamily, d metricstest.File) {
	t.Helper()
	raw, err := os.ReadFile("../../" + d.File)
	if err != nil {
		t.Fatal(err)
	}
	queries, err := d.Queries(raw)
	if err != nil {
		t.Fatalf("%s: %v", d.File, err)
	}
	used := map[string]bool{}
	templates := 0
	for _, q := range queries {
		if q.Template {
			templates++
		}
		for _, name := range q.Metrics() {
			used[name] = true
		}
	}
	if err := d.Enough(len(queries), templates, used); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for name := range used {
		if !scraped(fams, name) {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%s uses metrics the agent does not export: %s", d.File, strings.Join(missing, ", "))
	}
	t.Logf("%s: %d queries use %d metrics, all exported", d.File, len(queries), len(used))
}

// scraped: a family by that name, or the series of a histogram.
func scraped(fams map[string]*dto.MetricFamily, name string) bool {
	if fams[name] != nil {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f := fams[base]; f != nil && (f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY) {
				return true
			}
		}
	}
	return false
}
