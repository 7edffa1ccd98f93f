package rule

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/event"
)

// A rule test fixture is a YAML file:
//
//	rules: [../my-rules.yaml]   # rule files to load, relative to the fixture
//	default_rules: true         # load the default pack first (the default)
//	defs:                       # YAML anchors for the tests (optional)
//	tests:
//	  - name: a shell in a container alerts
//	    rule: shell_in_container  # the rule under test (optional)
//	    events:                 # events as objects of the JSON schema,
//	      - kind: process_exec  # or one string of JSON lines
//	        process: {binary: /bin/sh, …}
//	    expect:                 # every alert, in order; [] for none
//	      - rule: shell_in_container
//	        severity: high      # optional
//	        message: "…"        # optional, exact
//	        suppressed: 0       # optional
//
// Events without a time get one a second after the previous event's.

// FixtureOptions say which rules fixtures run against.
type FixtureOptions struct {
	// Defaults is the default pack, loaded first unless a fixture or
	// NoDefaults says otherwise.
	Defaults   []Source
	NoDefaults bool
	// Rules are more rule paths, loaded after the fixture's own.
	Rules  []string
	Engine Config
}

// TestResult is the outcome of one test of a fixture.
type TestResult struct {
	File string
	Line int
	Name string
	// Rule is the rule the test says it is about ("" if it does not).
	Rule string
	// Failures say what differed; empty when the test passed.
	Failures []string
	// Fired lists the rules that alerted.
	Fired []string
	// Kinds lists the kinds of the test's events, in order, without
	// repeats.
	Kinds []event.Kind
}

// Passed says whether every expectation held.
func (r TestResult) Passed() bool { return len(r.Failures) == 0 }

type fixtureFile struct {
	Rules        []string `yaml:"rules"`
	DefaultRules *bool    `yaml:"default_rules"`
	// Defs holds YAML anchors (&name) for the tests to reuse; it is
	// otherwise ignored.
	Defs  yaml.Node     `yaml:"defs"`
	Tests []fixtureTest `yaml:"tests"`
}

type fixtureTest struct {
	Name string `yaml:"name"`
	// Rule names the rule the test is about, for coverage reports.
	Rule   string        `yaml:"rule"`
	Events yaml.Node     `yaml:"events"`
	Expect []expectAlert `yaml:"expect"`
	line   int
	// where the test's rule and each expected alert's rule are named
	rulePos   pos
	expectPos []pos
}

type expectAlert struct {
	Rule       string  `yaml:"rule"`
	Severity   string  `yaml:"severity"`
	Message    *string `yaml:"message"`
	Suppressed *uint64 `yaml:"suppressed"`
}

// FixturePaths expands files and directories (their *.yaml files) into
// fixture files, in order.
func FixturePaths(paths []string) ([]string, error) {
	return expandPaths(paths, "fixtures")
}

// RunFixtures runs every test of the fixture files (or directories of
// them). An error means a fixture or its rules could not be loaded; failed
// tests are results.
func RunFixtures(paths []string, opt FixtureOptions) ([]TestResult, error) {
	files, err := FixturePaths(paths)
	if err != nil {
		return nil, err
	}
	cache := map[string]*Ruleset{}
	var out []TestResult
	for _, f := range files {
		res, err := runFixture(f, opt, cache)
		if err != nil {
			return out, err
		}
		out = append(out, res...)
	}
	return out, nil
}

func runFixture(path string, opt FixtureOptions, cache map[string]*Ruleset) ([]TestResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(path, data, err)
	}
	var f fixtureFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	setTestPositions(path, &doc, f.Tests)
	rs, err := fixtureRules(path, f, opt, cache)
	if err != nil {
		return nil, err
	}
	// a misspelt kind or rule name would let a test expecting nothing
	// pass: the fixture is refused before any test runs
	decoded := make([]decodedEvents, len(f.Tests))
	for i := range f.Tests {
		decoded[i] = decodeFixtureEvents(path, data, &f.Tests[i].Events)
	}
	if errs := checkFixture(f.Tests, decoded, rs); len(errs) > 0 {
		return nil, errs.sorted()
	}
	var out []TestResult
	for i := range f.Tests {
		out = append(out, runTest(path, &f.Tests[i], decoded[i], rs, opt.Engine))
	}
	return out, nil
}

func fixtureRules(path string, f fixtureFile, opt FixtureOptions, cache map[string]*Ruleset) (*Ruleset, error) {
	var sources []Source
	defaults := !opt.NoDefaults && (f.DefaultRules == nil || *f.DefaultRules)
	if defaults {
		sources = append(sources, opt.Defaults...)
	}
	var paths []string
	for _, r := range f.Rules {
		paths = append(paths, filepath.Join(filepath.Dir(path), r))
	}
	paths = append(paths, opt.Rules...)
	key := fmt.Sprint(defaults, paths)
	if rs, ok := cache[key]; ok {
		return rs, nil
	}
	more, err := ReadPaths(paths)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rs, err := Compile(append(sources, more...))
	if err != nil {
		return nil, err
	}
	cache[key] = rs
	return rs, nil
}

func runTest(path string, t *fixtureTest, evs decodedEvents, rs *Ruleset, cfg Config) TestResult {
	res := TestResult{File: path, Line: t.line, Name: t.Name, Rule: t.Rule}
	if evs.err != nil {
		res.Failures = append(res.Failures, fmt.Sprintf("%s:%d: events: %v", path, t.Events.Line, evs.err))
		return res
	}
	e := NewEngine(rs, cfg)
	var alerts []*event.Alert
	for _, ev := range evs.events {
		if !slices.Contains(res.Kinds, ev.Kind) {
			res.Kinds = append(res.Kinds, ev.Kind)
		}
		alerts = e.Eval(ev, alerts)
	}
	alerts = e.Drain(alerts)
	for _, st := range e.Stats().Rules {
		if st.Errors > 0 {
			res.Failures = append(res.Failures, fmt.Sprintf("rule %s: %d evaluation errors: %s", st.Name, st.Errors, st.LastError))
		}
	}
	for _, a := range alerts {
		res.Fired = append(res.Fired, a.Rule.Name)
	}
	if diff := compareAlerts(t.Expect, alerts); diff != "" {
		res.Failures = append(res.Failures, diff)
	}
	return res
}

// jsonable turns YAML's map[string]any trees into what encoding/json
// takes, and times into RFC 3339.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return v
}

func compareAlerts(want []expectAlert, got []*event.Alert) string {
	ok := len(want) == len(got)
	for i := 0; ok && i < len(want); i++ {
		w, g := want[i], got[i]
		ok = w.Rule == g.Rule.Name &&
			(w.Severity == "" || w.Severity == string(g.Rule.Severity)) &&
			(w.Message == nil || *w.Message == g.Message) &&
			(w.Suppressed == nil || *w.Suppressed == g.Suppressed)
	}
	if ok {
		return ""
	}
	var b strings.Builder
	b.WriteString("alerts differ\n  want:")
	if len(want) == 0 {
		b.WriteString(" none")
	}
	for _, w := range want {
		fmt.Fprintf(&b, "\n    %s", w.Rule)
		if w.Severity != "" {
			fmt.Fprintf(&b, " severity=%s", w.Severity)
		}
		if w.Message != nil {
			fmt.Fprintf(&b, " message=%q", *w.Message)
		}
		if w.Suppressed != nil {
			fmt.Fprintf(&b, " suppressed=%d", *w.Suppressed)
		}
	}
	b.WriteString("\n  got:")
	if len(got) == 0 {
		b.WriteString(" none")
	}
	for _, g := range got {
		fmt.Fprintf(&b, "\n    %s severity=%s message=%q suppressed=%d", g.Rule.Name, g.Rule.Severity, g.Message, g.Suppressed)
	}
	return b.String()
}
