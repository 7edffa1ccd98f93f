package main

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/config"
)

// TestRulesFlagOverridesConfigPaths: a rules path in the config file that
// does not exist stops the agent only when it is used, not when --rules
// replaces the file's paths.
func TestRulesFlagOverridesConfigPaths(t *testing.T) {
	cfg, err := config.Parse("vigil.yaml", []byte("rules:\n  paths: [/nonexistent/rules.d]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFlags
	err = rf.withConfig(cfg.Rules, func(string) bool { return false })
	if err == nil || !strings.Contains(err.Error(), "vigil.yaml:2: rules.paths[0]") {
		t.Errorf("the file's missing path, used: %v, want an error at vigil.yaml:2", err)
	}
	rf = ruleFlags{paths: []string{"mine.yaml"}}
	if err := rf.withConfig(cfg.Rules, func(flag string) bool { return flag == "rules" }); err != nil {
		t.Errorf("the file's missing path, replaced by --rules: %v", err)
	}
	if len(rf.paths) != 1 || rf.paths[0] != "mine.yaml" {
		t.Errorf("paths = %v, want the flag's", rf.paths)
	}
}
