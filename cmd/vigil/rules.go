package main

import (
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
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/rules"
)

// ruleFlags choose the rules and how alerts are throttled; run, replay
// and the rules commands share them.
type ruleFlags struct {
	paths           []string
	noDefaults      bool
	alertBurst      int
	alertRefill     time.Duration
	alertRuleBurst  int
	alertRuleRefill time.Duration
}

// defaultRuleFlags are the rule flags' defaults: the throttle of
// rule.DefaultThrottle. Commands without the flags (record) start from it
// too, so their zero values are never taken for a setting.
func defaultRuleFlags() ruleFlags {
	def := rule.DefaultThrottle()
	return ruleFlags{alertBurst: def.Burst, alertRefill: def.Refill, alertRuleBurst: def.RuleBurst, alertRuleRefill: def.RuleRefill}
}

func (rf *ruleFlags) register(fl *pflag.FlagSet) {
	def := rule.DefaultThrottle()
	fl.StringArrayVar(&rf.paths, "rules", nil, "rule file or directory (*.yaml) loaded after the default pack; repeatable, loaded in order")
	fl.BoolVar(&rf.noDefaults, "no-default-rules", false, "leave out the embedded default rule pack")
	fl.IntVar(&rf.alertBurst, "alert-burst", def.Burst, "alerts one rule may raise at once for one source (container, or parent process on the host)")
	fl.DurationVar(&rf.alertRefill, "alert-refill", def.Refill, "after a burst, one more alert per rule and source per this interval; 0 disables throttling")
	fl.IntVar(&rf.alertRuleBurst, "alert-rule-burst", def.RuleBurst, "alerts one rule may raise at once across all its sources (the per-rule ceiling)")
	fl.DurationVar(&rf.alertRuleRefill, "alert-rule-refill", def.RuleRefill, "after that burst, one more alert per rule per this interval; 0 disables the per-rule ceiling")
}

// withConfig takes what the config file's rules section sets, except
// where a flag was given: flags win. --rules replaces rules.paths.
func (rf *ruleFlags) withConfig(c config.Rules, given func(flag string) bool) error {
	if c.Paths != nil && !given("rules") {
		// the file's paths are checked only when they are the ones used
		if err := c.CheckPaths(); err != nil {
			return err
		}
		rf.paths = c.Paths
	}
	if c.DefaultRules != nil && !given("no-default-rules") {
		rf.noDefaults = !*c.DefaultRules
	}
	t := c.Throttle
	fromFile(given, "alert-burst", &rf.alertBurst, t.Burst)
	fromFile(given, "alert-rule-burst", &rf.alertRuleBurst, t.RuleBurst)
	fromFile(given, "alert-refill", &rf.alertRefill, t.Refill)
	fromFile(given, "alert-rule-refill", &rf.alertRuleRefill, t.RuleRefill)
	return nil
}

// fromFile sets *dst to what the config file sets, *src, unless src is
// nil (the file leaves it out) or flag was given.
func fromFile[T any](given func(flag string) bool, flag string, dst, src *T) {
	if src != nil && !given(flag) {
		*dst = *src
	}
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

// engineFrom compiles srcs, read by sources, into a fresh engine; nil
// when there are none.
func (rf *ruleFlags) engineFrom(srcs []rule.Source) (*rule.Engine, error) {
	cfg, err := rf.engineConfig()
	if err != nil || len(srcs) == 0 {
		return nil, err
	}
	rs, err := rule.Compile(srcs)
	if err != nil {
		return nil, err
	}
	return rule.NewEngine(rs, cfg), nil
}

// engineConfig is the throttle the flags ask for, or what is wrong with
// them.
func (rf *ruleFlags) engineConfig() (rule.Config, error) {
	switch {
	case rf.alertBurst < 1:
		return rule.Config{}, fmt.Errorf("--alert-burst %d: want at least 1", rf.alertBurst)
	case rf.alertRuleBurst < 1:
		return rule.Config{}, fmt.Errorf("--alert-rule-burst %d: want at least 1", rf.alertRuleBurst)
	case rf.alertRefill < 0:
		return rule.Config{}, fmt.Errorf("--alert-refill %v: want 0 (no throttling) or more", rf.alertRefill)
	case rf.alertRuleRefill < 0:
		return rule.Config{}, fmt.Errorf("--alert-rule-refill %v: want 0 (no per-rule ceiling) or more", rf.alertRuleRefill)
	}
	t := rule.Throttle{Burst: rf.alertBurst, Refill: rf.alertRefill, RuleBurst: rf.alertRuleBurst,
		RuleRefill: rf.alertRuleRefill, MaxKeys: rule.DefaultThrottle().MaxKeys}
	t.Disabled = rf.alertRefill == 0
	t.NoRuleCeiling = rf.alertRuleRefill == 0
	return rule.Config{Throttle: t}, nil
}

// engine compiles the rules into a fresh engine; nil when there are none.
func (rf *ruleFlags) engine() (*rule.Engine, error) {
	cfg, err := rf.engineConfig()
	if err != nil {
		return nil, err
	}
	rs, err := rf.ruleset()
	if err != nil || rs == nil {
		return nil, err
	}
	return rule.NewEngine(rs, cfg), nil
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

// notifyHUP starts catching SIGHUP, so that one arriving before the agent
// runs (while the sensors load) does not kill it; reloadRulesOnHUP then
// acts on it, and on those that follow. stop ends the catching.
func notifyHUP() (hup chan os.Signal, stop func()) {
	hup = make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup, func() { signal.Stop(hup) }
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
		Example: `  # check your rules against the default pack
  vigil rules validate ./my-rules/

  # run the default pack's own tests, then yours
  vigil rules test rules/tests/ ./my-rules/tests/

  # what is loaded, and the fields conditions can use
  vigil rules list
  vigil rules fields | grep ^process.`,
	}
	cmd.AddCommand(newRulesValidateCmd(), newRulesTestCmd(), newRulesListCmd(), newRulesFieldsCmd(), newRulesImportFalcoCmd())
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
lists and macros), exceptions and message templates. For every rule with
action kill or deny it says whether the kernel carries it out (before the
call returns) or user space does (after the event), and why. It exits with
status 1 if anything is wrong, so it can gate a CI pipeline.`,
		Example: `  # check your rules against the default pack
  vigil rules validate ./my-rules/

  # check a file on its own
  vigil rules validate --no-default-rules team.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			rf.paths = append(rf.paths, args...)
			return validateRules(rf, termsafe.NewWriter(cmd.OutOrStdout()))
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
		switch where, why := r.Enforcement(); where {
		case rule.InKernel:
			fmt.Fprintf(w, "%s: %s: action %s runs in the kernel\n", r.Source, r.Name, r.Action)
		case rule.InUserspace:
			fmt.Fprintf(w, "%s: %s: action %s runs in user space (the process is killed after the event): %s\n", r.Source, r.Name, r.Action, why)
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
			return testRules(rf, args, verbose, termsafe.NewWriter(cmd.OutOrStdout()))
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
	cfg, err := rf.engineConfig()
	if err != nil {
		return err
	}
	results, err := rule.RunFixtures(paths, rule.FixtureOptions{
		Defaults: pack, NoDefaults: rf.noDefaults, Rules: rf.paths, Engine: cfg})
	var errs rule.Errors
	if errors.As(err, &errs) {
		// every mistake of the fixture (or its rules), one a line
		fmt.Fprintln(w, errs.Error())
		return &exitError{code: 1, err: fmt.Errorf("%d error(s) in rule tests or their rules", len(errs))}
	}
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
				// names and paths come from rule files, which may be someone else's
				fmt.Fprintf(w, "%-36s %-8s %-6s %-8t %-24s %-28s %s\n", termsafe.Escape(r.Name), r.Severity, r.Action, r.Enabled,
					strings.Join(r.MITRE, ","), kindsLabel(r.Kinds, r.Indexed()), termsafe.Escape(r.Source))
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
