package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepositoryRulesAreValid: the rules file vigil ships parses as
// Prometheus would load it.
func TestRepositoryRulesAreValid(t *testing.T) {
	n, errs := check("../../deploy/prometheus/vigil-performance-rules.yaml")
	if len(errs) > 0 || n < 5 {
		t.Fatalf("%d rules, errors %v", n, errs)
	}
}

// TestBrokenRulesAreRefused: a PromQL syntax error, an unclosed template
// and a rule without alert or record are each refused, the expression's
// with its line.
func TestBrokenRulesAreRefused(t *testing.T) {
	for name, c := range map[string]struct{ yaml, want string }{
		"expr":     {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m] > 1\n", "5:15"},
		"template": {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          d: \"{{ $labels.x \"\n", "unclosed action"},
		"no alert": {"groups:\n  - name: g\n    rules:\n      - expr: up\n", "one of 'record' or 'alert' must be set"},
	} {
		file := filepath.Join(t.TempDir(), "rules.yaml")
		if err := os.WriteFile(file, []byte(c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, errs := check(file)
		var msgs []string
		for _, err := range errs {
			msgs = append(msgs, err.Error())
		}
		if got := strings.Join(msgs, "; "); !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want it to say %q", name, got, c.want)
		}
	}
}
