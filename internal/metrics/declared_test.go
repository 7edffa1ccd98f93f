package metrics

import (
	"net"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/vigil-sec/vigil/internal/metrics/metricstest"
)

// known says whether the registry serves the series name: a declared
// family, or a histogram's (summary's) _bucket, _sum and _count.
func known(declared map[string]dto.MetricType, name string) bool {
	if _, ok := declared[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if t, ok := declared[base]; ok && (t == dto.MetricType_HISTOGRAM || t == dto.MetricType_SUMMARY) {
				return suffix != "_bucket" || t == dto.MetricType_HISTOGRAM
			}
		}
	}
	return false
}

// TestDashboardUsesDeclaredMetrics parses the Grafana dashboards, takes
// every query from them (panels, panels in rows, template variables,
// annotations), and checks each metric name they use against what the
// registry declares, without an agent: a renamed or removed metric fails
// here, on any machine. The Prometheus alert rules get the same check.
func TestDashboardUsesDeclaredMetrics(t *testing.T) {
	declared, err := Declared()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range metricstest.Dashboards() {
		t.Run(d.File, func(t *testing.T) {
			raw, err := os.ReadFile("../../" + d.File)
			if err != nil {
				t.Fatal(err)
			}
			queries, err := d.Queries(raw)
			if err != nil {
				t.Fatal(err)
			}
			used := map[string]bool{}
			templates := 0
			for _, q := range queries {
				names := q.Metrics()
				if len(names) == 0 {
					t.Errorf("%s: %q uses no metric", q.Where, q.Expr)
				}
				if q.Template {
					templates++
				}
				for _, name := range names {
					used[name] = true
					if !known(declared, name) {
						t.Errorf("%s: %q uses %s, which vigil does not export", q.Where, q.Expr, name)
					}
				}
			}
			if err := d.Enough(len(queries), templates, used); err != nil {
				t.Fatal(err)
			}
			if !t.Failed() {
				t.Logf("%d queries use %d metrics, all declared", len(queries), len(used))
			}
		})
	}
}

// TestDeclaredIsWhatIsServed: with sources that have something to say
// about everything, a scrape holds every family Declared lists for vigil,
// with the declared type, and no other vigil_ family.
func TestDeclaredIsWhatIsServed(t *testing.T) {
	declared, err := Declared()
	if err != nil {
		t.Fatal(err)
	}
	src := sources()
	src.Streams = streams{StreamStats{Subscribers: 1}}
	fams, err := NewRegistry(src, "v0-test").Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]dto.MetricType{}
	for _, f := range fams {
		served[f.GetName()] = f.GetType()
	}
	for name, typ := range declared {
		got, ok := served[name]
		if !ok {
			t.Errorf("%s is declared but not served", name)
		} else if got != typ {
			t.Errorf("%s is declared %v, served %v", name, typ, got)
		}
	}
	for name := range served {
		if _, ok := declared[name]; !ok {
			t.Errorf("%s is served but not declared", name)
		}
	}
}

// TestEveryMetricIsDocumented: docs/metrics.md names every vigil_ metric.
func TestEveryMetricIsDocumented(t *testing.T) {
	raw, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`(vigil_[a-z_]+)`").FindAllStringSubmatch(string(raw), -1) {
		documented[m[1]] = true
	}
	declared, err := Declared()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for name := range declared {
		if strings.HasPrefix(name, "vigil_") && !documented[name] {
			missing = append(missing, name)
		}
		delete(documented, name)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("docs/metrics.md does not document %s", strings.Join(missing, ", "))
	}
	for name := range documented {
		t.Errorf("docs/metrics.md documents %s, which vigil does not export", name)
	}
}

// TestBusyAddressSaysWhatToDo: a port another listener holds is refused
// naming the address and the way out.
func TestBusyAddressSaysWhatToDo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	_, err = Listen(ServerOptions{Address: addr, Registry: NewRegistry(Sources{}, "x")})
	if err == nil {
		t.Fatalf("listened on %s, which is taken", addr)
	}
	for _, want := range []string{addr + " is already in use", "--metrics-addr", "metrics.address", "127.0.0.1:0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

type streams struct{ s StreamStats }

func (s streams) StreamStats() StreamStats { return s.s }
