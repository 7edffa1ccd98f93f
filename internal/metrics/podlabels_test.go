package metrics

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
)

// gather scrapes a pedantic registry (it checks every series against its
// declared labels) holding a Collector over alerts, labelled with l, and
// returns the alert and enforcement series as "name{k=v,…} value".
func gather(t *testing.T, l output.PodLabels, alerts []output.AlertCount) []string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(Sources{Outputs: outputs{alerts: alerts}, PodLabels: l}))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fams {
		if f.GetName() != "vigil_alerts_total" && f.GetName() != "vigil_enforcement_total" {
			continue
		}
		for _, m := range f.Metric {
			var labels []string
			for _, lp := range m.Label {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(labels)
			out = append(out, f.GetName()+"{"+strings.Join(labels, ",")+"} "+strconv.FormatFloat(m.GetCounter().GetValue(), 'g', -1, 64))
		}
	}
	sort.Strings(out)
	return out
}

// TestPodLabelsOnlyWhenAsked: alert and enforcement metrics carry the pod
// labels asked for, and none by default.
func TestPodLabelsOnlyWhenAsked(t *testing.T) {
	alerts := []output.AlertCount{
		{Rule: "r", Severity: event.SeverityHigh, Action: event.ActionAlert, Namespace: "shop", Workload: "api", Count: 2},
		{Rule: "k", Severity: event.SeverityHigh, Action: event.ActionKilled, Namespace: "shop", Workload: "api", Count: 1},
		{Rule: "k", Severity: event.SeverityLow, Action: event.ActionKilled, Namespace: "shop", Workload: "api", Count: 3},
	}
	got := gather(t, output.PodLabels{Namespace: true, Workload: true}, alerts)
	want := []string{
		"vigil_alerts_total{action=alert,namespace=shop,rule=r,severity=high,workload=api} 2",
		"vigil_alerts_total{action=killed,namespace=shop,rule=k,severity=high,workload=api} 1",
		"vigil_alerts_total{action=killed,namespace=shop,rule=k,severity=low,workload=api} 3",
		"vigil_enforcement_total{action=killed,namespace=shop,rule=k,workload=api} 4",
	}
	if !slices.Equal(got, want) {
		t.Errorf("with namespace and workload:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range alerts {
		alerts[i].Namespace, alerts[i].Workload = "", "" // the fan-out keeps none apart by default
	}
	got = gather(t, output.PodLabels{}, alerts)
	for _, s := range got {
		if strings.Contains(s, "namespace") || strings.Contains(s, "pod") || strings.Contains(s, "workload") {
			t.Errorf("a pod label by default: %s", s)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d series by default, want 4: %v", len(got), got)
	}
}

func TestParsePodLabels(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want output.PodLabels
		err  string
	}{
		{nil, output.PodLabels{}, ""},
		{[]string{"none"}, output.PodLabels{}, ""},
		{[]string{"namespace,workload"}, output.PodLabels{Namespace: true, Workload: true}, ""},
		{[]string{"pod", "namespace"}, output.PodLabels{Namespace: true, Pod: true}, ""},
		{[]string{"namespace,labels"}, output.PodLabels{}, `"labels" is not a pod label: want namespace, pod or workload (or none)`},
	} {
		got, err := ParsePodLabels(c.in)
		if (err == nil) != (c.err == "") || err != nil && err.Error() != c.err || got != c.want {
			t.Errorf("ParsePodLabels(%q) = %+v, %v; want %+v, %q", c.in, got, err, c.want, c.err)
		}
	}
}
