package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/rules"
)

// ruleFlags choose the rules and how alerts are throttled; run, replay
// and the rules commands share them.
type ruleFlags struct {
	paths       []string
	noDefaults  bool
	alertBurst  int
	alertRefill time.Duration
}

func (rf *ruleFlags) register(fl *pflag.FlagSet) {
	fl.StringArrayVar(&rf.paths, "rules", nil, "rule file or directory (*.yaml) loaded after the default pack; repeatable, loaded in order")
	fl.BoolVar(&rf.noDefaults, "no-default-rules", false, "leave out the embedded default rule pack")
	fl.IntVar(&rf.alertBurst, "alert-burst", rule.DefaultThrottle().Burst, "alerts one rule may raise at once for one source (container, or parent process on the host)")
	fl.DurationVar(&rf.alertRefill, "alert-refill", rule.DefaultThrottle().Refill, "after a burst, one more alert per rule and source per this interval; 0 disables throttling")
}

// sources reads the default pack (unless left out) and the given paths.
func (rf *ruleFlags) sources() ([]rule.Source, error) {
	var srcs []rule.Source
	if !rf.noDefaults {
		pack, err := rules.Sources()
		if err != nil {
			return nil, err
		}
		srcs = pack
	}
	more, err := rule.ReadPaths(rf.paths)
	if err != nil {
		return nil, err
	}
	return append(srcs, more...), nil
}

// ruleset compiles the chosen rules; nil when there are none.
func (rf *ruleFlags) ruleset() (*rule.Ruleset, error) {
	srcs, err := rf.sources()
	if err != nil || len(srcs) == 0 {
		return nil, err
	}
	return rule.Compile(srcs)
}

func (rf *ruleFlags) engineConfig() rule.Config {
	t := rule.Throttle{Burst: rf.alertBurst, Refill: rf.alertRefill, MaxKeys: rule.DefaultThrottle().MaxKeys}
	if rf.alertRefill <= 0 {
		t.Disabled = true
	}
	return rule.Config{Throttle: t}
}

// engine compiles the rules into a fresh engine; nil when there are none.
func (rf *ruleFlags) engine() (*rule.Engine, error) {
	rs, err := rf.ruleset()
	if err != nil || rs == nil {
		return nil, err
	}
	return rule.NewEngine(rs, rf.engineConfig()), nil
}

// load compiles the rules for the agent and logs what it loaded; nil
// when there are none.
func (rf *ruleFlags) load(log *slog.Logger) (*rule.Engine, error) {
	eng, err := rf.engine()
	if err != nil || eng == nil {
		return nil, err
	}
	logWarnings(log, eng.Ruleset())
	log.Info("rules loaded", "rules", len(eng.Ruleset().Rules()))
	return eng, nil
}

func logWarnings(log *slog.Logger, rs *rule.Ruleset) {
	for _, w := range rs.Warnings {
		log.Warn("rule warning", "warning", w.Error())
	}
}

// reloadRulesOnHUP recompiles the rules on SIGHUP and swaps them in. A set
// with errors is rejected, its errors logged, and the running set stays.
// The returned function stops listening.
func reloadRulesOnHUP(ctx context.Context, a *agent.Agent, rf ruleFlags, log *slog.Logger) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-hup:
				if !ok {
					return
				}
				reloadRules(a, rf, log)
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(hup)
		<-done
	}
}

func reloadRules(a *agent.Agent, rf ruleFlags, log *slog.Logger) {
	eng, err := rf.engine()
	if err != nil {
		var errs rule.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				log.Error("rule error", "error", e.Error())
			}
		}
		log.Error("rules not reloaded: the previous rules stay active", "err", firstLine(err))
		return
	}
	if eng != nil {
		logWarnings(log, eng.Ruleset())
	}
	a.SetRules(eng)
	n := 0
	if eng != nil {
		n = len(eng.Ruleset().Rules())
	}
	log.Info("rules reloaded", "rules", n)
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func ruleSummary(s agent.RuleStats) string {
	return fmt.Sprintf("rules: %d alerts written, %d matches suppressed by throttling", s.Alerts, s.Suppressed)
}

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Check, test and list detection rules",
		Long: `Rule files are YAML lists of rule, list, macro and track entries; conditions
are CEL expressions over the event schema (docs/rules.md). These commands work
offline: they need no root and no kernel support.`,
	}
	cmd.AddCommand(newRulesValidateCmd(), newRulesTestCmd(), newRulesListCmd(), newRulesFieldsCmd())
	return cmd
}

func newRulesValidateCmd() *cobra.Command {
	var rf ruleFlags
	cmd := &cobra.Command{
		Use:   "validate [PATH]...",
		Short: "Check rule files and report every error with file, line and column",
		Long: `Validate loads the default pack, then the given files and directories in
order, and checks every entry: YAML structure, names, append and override,
conditions (unknown fields with the nearest valid name, type errors, unknown
lists and macros), exceptions and message templates. It exits with status 1
if anything is wrong, so it can gate a CI pipeline.`,
		Example: `  # check your rules against the default pack
  vigil rules validate ./my-rules/

  # check a file on its own
  vigil rules validate --no-default-rules team.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			rf.paths = append(rf.paths, args...)
			return validateRules(rf, cmd.OutOrStdout())
		},
	}
	rf.register(cmd.Flags())
	return cmd
}

func validateRules(rf ruleFlags, w io.Writer) error {
	srcs, err := rf.sources()
	if err != nil {
		return err
	}
	rs, err := rule.Compile(srcs)
	if err != nil {
		var errs rule.Errors
		if errors.As(err, &errs) {
			fmt.Fprintln(w, errs.Error())
			return &exitError{code: 1, err: fmt.Errorf("rule files have %d error(s)", len(errs))}
		}
		return err
	}
	for _, warn := range rs.Warnings {
		fmt.Fprintln(w, "warning:", warn.Error())
	}
	enabled := 0
	for _, r := range rs.Rules() {
		if r.Enabled {
			enabled++
		}
	}
	fmt.Fprintf(w, "ok: %d rules (%d enabled) from %d files, %d warnings\n", len(rs.Rules()), enabled, len(srcs), len(rs.Warnings))
	return nil
}

func newRulesTestCmd() *cobra.Command {
	var rf ruleFlags
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test PATH...",
		Short: "Run rule tests: events in, expected alerts out",
		Long: `Test runs fixture files (YAML; a directory means its *.yaml files). Each
test feeds events to a fresh engine and compares the alerts, in order, with
what it expects; expect: [] asserts that nothing fires. A fixture may name
rule files to load (rules:, relative to it) and whether the default pack is
loaded first (default_rules:, true unless set). The format is in
docs/rules.md. It exits with status 1 if a test fails.`,
		Example: `  # the default pack's own tests
  vigil rules test rules/tests/

  # your rules' tests, with your rules loaded after the default pack
  vigil rules test --rules ./my-rules/ ./my-rules/tests/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return testRules(rf, args, verbose, cmd.OutOrStdout())
		},
	}
	rf.register(cmd.Flags())
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list passing tests too")
	return cmd
}

func testRules(rf ruleFlags, paths []string, verbose bool, w io.Writer) error {
	var pack []rule.Source
	if !rf.noDefaults {
		var err error
		if pack, err = rules.Sources(); err != nil {
			return err
		}
	}
	results, err := rule.RunFixtures(paths, rule.FixtureOptions{
		Defaults: pack, NoDefaults: rf.noDefaults, Rules: rf.paths, Engine: rf.engineConfig()})
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		if r.Passed() {
			if verbose {
				fmt.Fprintf(w, "PASS %s:%d %s\n", r.File, r.Line, r.Name)
			}
			continue
		}
		failed++
		fmt.Fprintf(w, "FAIL %s:%d %s\n", r.File, r.Line, r.Name)
		for _, f := range r.Failures {
			fmt.Fprintln(w, "  "+strings.ReplaceAll(f, "\n", "\n  "))
		}
	}
	fmt.Fprintf(w, "%d tests, %d passed, %d failed\n", len(results), len(results)-failed, failed)
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d rule tests failed", failed)}
	}
	return nil
}

func newRulesListCmd() *cobra.Command {
	var rf ruleFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the rules that would be loaded",
		Example: `  vigil rules list
  vigil rules list --rules ./my-rules/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rs, err := rf.ruleset()
			if err != nil || rs == nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-36s %-8s %-6s %-8s %-24s %-28s %s\n", "RULE", "SEVERITY", "ACTION", "ENABLED", "MITRE", "INDEXED ON", "SOURCE")
			for _, r := range rs.Rules() {
				fmt.Fprintf(w, "%-36s %-8s %-6s %-8t %-24s %-28s %s\n", r.Name, r.Severity, r.Action, r.Enabled,
					strings.Join(r.MITRE, ","), kindsLabel(r.Kinds, r.Indexed()), r.Source)
			}
			return nil
		},
	}
	rf.register(cmd.Flags())
	return cmd
}

func kindsLabel(kinds []event.Kind, indexed string) string {
	k := "any kind"
	if kinds != nil {
		parts := make([]string, len(kinds))
		for i, x := range kinds {
			parts[i] = string(x)
		}
		k = strings.Join(parts, ",")
		if len(parts) > 2 {
			k = fmt.Sprintf("%d kinds", len(parts))
		}
	}
	if indexed != "" {
		k += "/" + indexed
	}
	return k
}

func newRulesFieldsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "fields",
		Short:   "List the event fields conditions can use, with their types",
		Example: `  vigil rules fields | grep ^file.`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rs, err := rule.Compile(nil)
			if err != nil {
				return err
			}
			for _, p := range rs.Fields() {
				typ, doc, _ := rs.FieldDoc(p)
				fmt.Fprintf(cmd.OutOrStdout(), "%-40s %-22s %s\n", p, typ, doc)
			}
			return nil
		},
	}
}
