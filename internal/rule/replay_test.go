package rule

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/event"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from what the code produces")

// TestGoldenReplay replays the recorded corpus through the default pack;
// the alerts must be the reviewed ones in testdata/corpus.alerts.golden
// (go test -update rewrites it; review the diff).
func TestGoldenReplay(t *testing.T) {
	rs, err := Compile(packSources(t))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, a := range run(rs, Config{}, loadCorpus(t)...) {
		fmt.Fprintf(&b, "%s %-8s %s: %s (suppressed %d)\n", a.Time.UTC().Format(time.RFC3339Nano), a.Rule.Severity,
			a.Rule.Name, a.Message, a.Suppressed)
	}
	golden := filepath.Join("testdata", "corpus.alerts.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("alerts differ from %s (go test -update to accept):\n--- got\n%s--- want\n%s", golden, b.String(), want)
	}
}

// TestBenignWorkloadIsQuiet replays testdata/benign.jsonl.gz, recorded by
// the live agent (vigil run --cgroup … --events all) around the benign
// workload of docs/rules.md: a cold build of vigil, apt-get install and
// remove, shell file work and a loopback web server under load. The
// default pack must raise no high or critical alert on it.
func TestBenignWorkloadIsQuiet(t *testing.T) {
	rs, err := Compile(packSources(t))
	if err != nil {
		t.Fatal(err)
	}
	evs := loadEvents(t, "testdata/benign.jsonl.gz")
	if len(evs) < 3000 {
		t.Fatalf("only %d events recorded", len(evs))
	}
	for _, a := range run(rs, Config{}, evs...) {
		if a.Rule.Severity == "high" || a.Rule.Severity == "critical" {
			t.Errorf("%s %s: %s", a.Rule.Severity, a.Rule.Name, a.Message)
		}
	}
}

// TestIndexIsExact: the field index changes the cost, never the result.
// The pack grown to 1 000 rules gives the same alerts, in the same order,
// as the same rules indexed by kind only, over the corpus and every event
// of the pack's tests.
func TestIndexIsExact(t *testing.T) {
	evs := append(loadCorpus(t), fixtureCorpus(t)...)
	rs := benchRuleset(t, 1000, defaultCostLimits())
	indexed := run(rs, Config{}, evs...)
	plain := run(rs.withoutGuards(), Config{}, evs...)
	if len(indexed) == 0 {
		t.Fatal("no alerts at all: the comparison proves nothing")
	}
	if len(indexed) != len(plain) {
		t.Fatalf("indexed: %d alerts, kinds only: %d", len(indexed), len(plain))
	}
	for i := range indexed {
		a, b := indexed[i], plain[i]
		if a.Rule.Name != b.Rule.Name || a.Event != b.Event || a.Suppressed != b.Suppressed || a.Message != b.Message {
			t.Fatalf("alert %d: indexed %s %q, kinds only %s %q", i, a.Rule.Name, a.Message, b.Rule.Name, b.Message)
		}
	}
	t.Logf("%d events, %d alerts, identical", len(evs), len(indexed))
}

// fixtureCorpus reads the events of the default pack's tests.
func fixtureCorpus(t *testing.T) []*event.Event {
	t.Helper()
	files, err := filepath.Glob("../../rules/tests/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("pack tests: %v", err)
	}
	var out []*event.Event
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ff fixtureFile
		if err := yaml.Unmarshal(data, &ff); err != nil {
			t.Fatal(err)
		}
		for _, tt := range ff.Tests {
			evs := decodeFixtureEvents(f, data, &tt.Events)
			if evs.err != nil {
				t.Fatal(evs.err)
			}
			out = append(out, evs.events...)
		}
	}
	return out
}

func TestEventReader(t *testing.T) {
	in := `{"time":"2025-01-01T10:00:00Z","kind":"process_exec","process":{"pid":1,"binary":"/bin/sh","args":["sh"]}}

{"time":"2025-01-01T10:00:01Z","kind":"alert","rule":{"name":"x","severity":"low"},"event":{}}
{"kind":"process_exec", "process": {
{"time":"2025-01-01T10:00:02Z","kind":"file_open","process":{"pid":2},"file":{"path":"/etc/passwd"}}
{"time":"2025-01-01T10:00:03Z","node":"n"}
`
	r := NewEventReader(strings.NewReader(in), "rec.json")
	var got []string
	var errs []string
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var le *LineError
		if errors.As(err, &le) {
			errs = append(errs, le.Error())
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(ev.Kind))
	}
	if strings.Join(got, ",") != "process_exec,file_open" {
		t.Errorf("events %v", got)
	}
	if len(errs) != 2 || !strings.HasPrefix(errs[0], "rec.json:4: ") || !strings.HasPrefix(errs[1], "rec.json:6: not an event") {
		t.Errorf("errors %q", errs)
	}
	if r.Alerts != 1 || r.Malformed != 2 {
		t.Errorf("counted %d alerts, %d malformed", r.Alerts, r.Malformed)
	}
}

// TestLocate: offsets in a scalar map to the right line and column for
// each YAML style.
func TestLocate(t *testing.T) {
	cases := []struct {
		doc, word string
		line, col int
	}{
		{"c: plain text here\n", "here", 1, 15},
		{"c: \"quoted \\\"x\\\" here\"\n", "here", 1, 18},
		{"c: 'it''s here'\n", "here", 1, 11},
		{"c: |\n  first\n    second here\n", "here", 3, 12},
		{"c: >\n  first\n  second here\n", "here", 3, 10},
		{"c: plain\n  continued here\n", "here", 2, 13},
	}
	for _, c := range cases {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(c.doc), &doc); err != nil {
			t.Fatal(err)
		}
		n := doc.Content[0].Content[1]
		off := strings.Index(n.Value, c.word)
		line, col := locate([]byte(c.doc), n, off)
		if line != c.line || col != c.col {
			t.Errorf("%q: %q at %d:%d, want %d:%d", c.doc, c.word, line, col, c.line, c.col)
		}
	}
}

// TestFixtureRunnerReportsDifferences: the runner fails a test whose
// alerts differ and one whose events have unknown fields.
func TestFixtureRunnerReportsDifferences(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "r.yaml")
	fixture := filepath.Join(dir, "t.yaml")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(rules, shellRule)
	write(fixture, `
rules: [r.yaml]
default_rules: false
tests:
  - name: passes
    events:
      - {kind: process_exec, process: {binary: /bin/sh, args: [sh]}}
    expect:
      - {rule: shell, severity: high, suppressed: 0}
  - name: wrong expectation
    events:
      - {kind: process_exec, process: {binary: /bin/ls}}
    expect:
      - rule: shell
  - name: typo in an event
    events:
      - {kind: process_exec, process: {binry: /bin/sh}}
    expect: []
`)
	res, err := RunFixtures([]string{dir + "/t.yaml"}, FixtureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, r := range res {
		fmt.Fprintf(&buf, "%s:%v|", r.Name, r.Passed())
	}
	if buf.String() != "passes:true|wrong expectation:false|typo in an event:false|" {
		t.Fatalf("results %s", buf.String())
	}
	if !strings.Contains(res[2].Failures[0], `unknown field "binry"`) {
		t.Errorf("typo not reported: %v", res[2].Failures)
	}
}
