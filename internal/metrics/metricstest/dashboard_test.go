package metricstest

import (
	"strings"
	"testing"
)

func TestMetricNames(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{`sum by (rule, severity) (rate(vigil_alerts_total{instance=~"$i",x="a}b"}[$__rate_interval])) / on (instance) vigil_build_info and process_cpu_seconds_total > 0`,
			"vigil_alerts_total vigil_build_info process_cpu_seconds_total"},
		{`histogram_quantile(0.99, sum(rate(a_bucket[5m])) by (le)) > 1e-9`, "a_bucket"},
		{`rate(b_total[1h30m] offset 5m) * 2.5e+3 + time()`, "b_total"},
		{`count(up{job="x"} == 0) or vector(0)`, "up"},
		{`{__name__="named_total", job='y'}`, "named_total"},
		{`max without (cpu) (c) unless ignoring (instance) group_left (team) d`, "c d"},
		{`sum(e{l="by (x)"}) by (l) and bool f`, "e f"},
		{`${metric_prefix}_total + g_seconds:rate5m`, "_total g_seconds:rate5m"},
	} {
		if got := strings.Join(MetricNames(c.expr), " "); got != c.want {
			t.Errorf("%s\n got  %q\n want %q", c.expr, got, c.want)
		}
	}
}

func TestQueriesWalkEverything(t *testing.T) {
	dash := `{
	  "panels": [
	    {"type": "row", "title": "open", "panels": []},
	    {"type": "stat", "title": "top", "targets": [{"expr": "sum(top_total)"}]},
	    {"type": "row", "title": "collapsed", "collapsed": true, "panels": [
	      {"type": "timeseries", "title": "inner", "targets": [{"expr": "rate(inner_total[5m])"}, {"refId": "B"}]},
	      {"type": "row", "title": "deeper", "panels": [{"title": "deepest", "targets": [{"expr": "deep_gauge"}]}]}
	    ]}
	  ],
	  "templating": {"list": [
	    {"type": "datasource", "name": "ds", "query": "prometheus"},
	    {"type": "query", "name": "instance", "query": {"query": "label_values(vigil_build_info{job=\"a,b\"}, instance)"}},
	    {"type": "query", "name": "plain", "query": "label_values(job)"},
	    {"type": "query", "name": "old", "definition": "query_result(max by (x) (old_metric))"}
	  ]},
	  "annotations": {"list": [{"expr": "changes(restarts_total[1m]) > 0"}]}
	}`
	qs, err := Queries([]byte(dash))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, q := range qs {
		got = append(got, strings.Join(q.Metrics(), ","))
	}
	want := "top_total inner_total deep_gauge vigil_build_info  old_metric restarts_total"
	if strings.Join(got, " ") != want {
		t.Errorf("metrics by query: %q\nwant %q", strings.Join(got, " "), want)
	}
	if _, err := Queries([]byte("{")); err == nil {
		t.Error("a broken dashboard parsed")
	}
}
