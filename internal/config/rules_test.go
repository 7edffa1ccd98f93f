package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesSectionErrors: mistakes in the rules section are reported at
// their line and field, with what would be valid.
func TestRulesSectionErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"rules:\n  path: [/etc/vigil/rules.d]\n",
			"config.yaml:2: rules.path: unknown field; valid fields here: paths, default_rules, throttle"},
		{"rules:\n  paths: /etc/vigil/rules.d\n", "config.yaml:2: rules.paths: want a list"},
		{"rules:\n  paths: [a.yaml, \"\"]\n", "config.yaml:2: rules.paths[1]: want the path of a rule file or directory"},
		{"rules:\n  default_rules: sometimes\n", `config.yaml:2: rules.default_rules: want true or false, got "sometimes"`},
		{"rules:\n  throttle:\n    burst: 0\n", "config.yaml:3: rules.throttle.burst: 0 is too small: want at least 1"},
		{"rules:\n  throttle:\n    refill: 10\n", `config.yaml:3: rules.throttle.refill: "10" is not a duration: want e.g. 500ms, 10s, 2m`},
		{"rules:\n  throttle:\n    rule_refill: -1s\n", `config.yaml:3: rules.throttle.rule_refill: "-1s" is not a duration`},
		{"rules:\n  throttle:\n    rule_bust: 5\n",
			"config.yaml:3: rules.throttle.rule_bust: unknown field; valid fields here: burst, refill, rule_burst, rule_refill"},
	} {
		_, err := Parse("config.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config\n%s\nerror %v\nwant it to contain %q", tc.yaml, err, tc.want)
		}
	}
}

// TestRulePaths: relative paths are the config file's directory's, and a
// path that does not exist is reported at its line.
func TestRulePaths(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mine.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "vigil.yaml")
	c, err := Parse(file, []byte("rules:\n  paths:\n    - mine.yaml\n    - /nonexistent/rules.d\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Rules.Paths[0] != filepath.Join(dir, "mine.yaml") || c.Rules.Paths[1] != "/nonexistent/rules.d" {
		t.Errorf("paths %v", c.Rules.Paths)
	}
	err = c.Rules.CheckPaths()
	want := file + ":4: rules.paths[1]: stat /nonexistent/rules.d: no such file or directory"
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "paths[0]") {
		t.Errorf("CheckPaths: %v, want %q", err, want)
	}
	if err := Default().Rules.CheckPaths(); err != nil {
		t.Errorf("no rules section: %v", err)
	}
}
