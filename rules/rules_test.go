package rules

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/rule"
)

// TestFixtures runs the pack's rule tests exactly as `vigil rules test
// rules/tests/` does.
func TestFixtures(t *testing.T) {
	results := runFixtures(t)
	for _, r := range results {
		if !r.Passed() {
			t.Errorf("%s:%d: %s:\n%s", r.File, r.Line, r.Name, strings.Join(r.Failures, "\n"))
		}
	}
}

// TestEveryRuleIsTested requires each rule of the pack to have a test in
// which it fires and one (about it) in which it stays quiet for an event
// it could have matched: an event of one of the kinds its condition
// names, so that the benign variant is quiet because of what the rule
// tests, not because the rule never looked at it.
func TestEveryRuleIsTested(t *testing.T) {
	results := runFixtures(t)
	rs := compilePack(t)
	kinds := map[string][]event.Kind{}
	for _, r := range rs.Rules() {
		kinds[r.Name] = r.Kinds
	}
	fires := map[string]bool{}
	quiet := map[string]bool{}
	for _, r := range results {
		for _, name := range r.Fired {
			fires[name] = true
		}
		if r.Rule == "" || contains(r.Fired, r.Rule) {
			continue
		}
		if want, ok := kinds[r.Rule]; ok && (want == nil || slices.ContainsFunc(r.Kinds, func(k event.Kind) bool {
			return slices.Contains(want, k)
		})) {
			quiet[r.Rule] = true
		}
	}
	for _, r := range rs.Rules() {
		if !fires[r.Name] {
			t.Errorf("rule %s (%s): no test in which it fires", r.Name, r.Source)
		}
		if !quiet[r.Name] {
			t.Errorf("rule %s (%s): no test of a benign variant (rule: %s, and it does not fire) with an event of a kind it matches (%v)",
				r.Name, r.Source, r.Name, r.Kinds)
		}
	}
}

// TestPackMetadata: every rule explains itself and maps to ATT&CK.
func TestPackMetadata(t *testing.T) {
	rs := compilePack(t)
	rules := rs.Rules()
	if len(rules) < 40 {
		t.Errorf("the pack has %d rules, want at least 40", len(rules))
	}
	for _, r := range rules {
		if len(r.Description) < 20 {
			t.Errorf("rule %s: description %q is too short to explain it", r.Name, r.Description)
		}
		if len(r.MITRE) == 0 {
			t.Errorf("rule %s: no MITRE ATT&CK technique among its tags %v", r.Name, r.Tags)
		}
		if r.Action != rule.ActionAlert {
			t.Errorf("rule %s: the default pack only alerts, not %s", r.Name, r.Action)
		}
		if !r.Enabled {
			t.Errorf("rule %s: disabled in the default pack", r.Name)
		}
	}
	for _, w := range rs.Warnings {
		t.Errorf("warning: %v", w)
	}
}

func compilePack(t *testing.T) *rule.Ruleset {
	t.Helper()
	srcs, err := Sources()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rule.Compile(srcs)
	if err != nil {
		t.Fatalf("the default pack does not compile:\n%v", err)
	}
	return rs
}

func runFixtures(t *testing.T) []rule.TestResult {
	t.Helper()
	srcs, err := Sources()
	if err != nil {
		t.Fatal(err)
	}
	results, err := rule.RunFixtures([]string{"tests"}, rule.FixtureOptions{Defaults: srcs})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Fatal("no rule tests found in tests/")
	}
	return results
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestListRules documents the pack in the test log (go test -v).
func TestListRules(t *testing.T) {
	rules := compilePack(t).Rules()
	sort.Slice(rules, func(i, j int) bool { return rules[i].Name < rules[j].Name })
	for _, r := range rules {
		t.Logf("%-36s %-8s %s", r.Name, r.Severity, strings.Join(r.MITRE, ","))
	}
}
