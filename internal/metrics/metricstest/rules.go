package metricstest

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// RuleQueries returns the expression of every rule of a Prometheus rules
// file (groups → rules → expr), named by group and alert or record. The
// file's full validation, PromQL included, is tools/rulecheck's; this is
// what the tests need to check the metric names against vigil's.
func RuleQueries(raw []byte) ([]Query, error) {
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var out []Query
	for _, g := range file.Groups {
		for i, r := range g.Rules {
			name := r.Alert + r.Record
			if r.Expr == "" || name == "" {
				return nil, fmt.Errorf("rules: group %q, rule %d: want alert or record, and expr", g.Name, i+1)
			}
			out = append(out, Query{Where: fmt.Sprintf("group %q, rule %q", g.Name, name), Expr: r.Expr})
		}
	}
	return out, nil
}
