// Command rulecheck validates Prometheus rule files as Prometheus loads
// them: the YAML shape (groups, rules, alert or record, for, labels,
// annotations), every expression parsed by PromQL's own parser, and the
// annotations' templates. It is what `promtool check rules` does, without
// a Prometheus install; the agent's tests check that the metrics the
// expressions use are the ones vigil exports.
//
// Usage:
//
//	rulecheck FILE...
package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rulecheck FILE...")
		os.Exit(2)
	}
	failed := false
	for _, file := range os.Args[1:] {
		n, errs := check(file)
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, err) // it names the file
			failed = true
		}
		if len(errs) == 0 {
			fmt.Printf("%s: %d rules, valid\n", file, n)
		}
	}
	if failed {
		os.Exit(1)
	}
}

// check parses file and returns its rule count, or what is wrong.
func check(file string) (int, []error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	groups, errs := rulefmt.ParseFile(file, false, model.UTF8Validation, parser.NewParser(parser.Options{}), log)
	if len(errs) > 0 {
		return 0, errs
	}
	n := 0
	for _, g := range groups.Groups {
		n += len(g.Rules)
	}
	if n == 0 {
		return 0, []error{fmt.Errorf("no rules")}
	}
	return n, nil
}
