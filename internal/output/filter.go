package output

import (
	"fmt"
	"path"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// severityRank orders severities; unknown ones rank below info so that a
// minimum severity never lets them through by accident.
func severityRank(s event.Severity) int {
	switch s {
	case event.SeverityInfo:
		return 1
	case event.SeverityLow:
		return 2
	case event.SeverityMedium:
		return 3
	case event.SeverityHigh:
		return 4
	case event.SeverityCritical:
		return 5
	}
	return 0
}

// ParseSeverity checks a severity name.
func ParseSeverity(s string) (event.Severity, error) {
	sev := event.Severity(strings.ToLower(s))
	if severityRank(sev) == 0 {
		return "", fmt.Errorf("severity %q: want info, low, medium, high or critical", s)
	}
	return sev, nil
}

// AtLeast reports whether s is at least min. An empty min lets everything
// through.
func AtLeast(s, min event.Severity) bool {
	return min == "" || severityRank(s) >= severityRank(min)
}

// Filter selects what one output receives. The zero Filter passes nothing:
// set Events, Alerts or both.
type Filter struct {
	// Events and Alerts say which of the two the output takes.
	Events bool
	Alerts bool
	// Kinds, when not empty, keeps only events of these kinds, and alerts
	// whose triggering event is of one of them.
	Kinds []event.Kind
	// MinSeverity keeps alerts of at least this severity.
	MinSeverity event.Severity
	// Rules, when not empty, keeps only alerts of rules whose name matches
	// one of these patterns (exact names or path.Match globs: "shell_*").
	Rules []string
}

// All passes every event and alert.
func All() Filter { return Filter{Events: true, Alerts: true} }

// Event reports whether the output takes ev.
func (f *Filter) Event(ev *event.Event) bool {
	return f.Events && f.kind(ev.Kind)
}

// Alert reports whether the output takes al.
func (f *Filter) Alert(al *event.Alert) bool {
	if !f.Alerts || !AtLeast(al.Rule.Severity, f.MinSeverity) {
		return false
	}
	if al.Event != nil && !f.kind(al.Event.Kind) {
		return false
	}
	return f.rule(al.Rule.Name)
}

func (f *Filter) kind(k event.Kind) bool {
	if len(f.Kinds) == 0 {
		return true
	}
	for _, want := range f.Kinds {
		if k == want {
			return true
		}
	}
	return false
}

func (f *Filter) rule(name string) bool {
	if len(f.Rules) == 0 {
		return true
	}
	for _, pattern := range f.Rules {
		if pattern == name {
			return true
		}
		if ok, _ := path.Match(pattern, name); ok {
			return true
		}
	}
	return false
}

// Validate checks the patterns, so that a typo is reported at start rather
// than silently matching nothing.
func (f *Filter) Validate() error {
	for _, p := range f.Rules {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("rule pattern %q: %w", p, err)
		}
	}
	if f.MinSeverity != "" {
		if _, err := ParseSeverity(string(f.MinSeverity)); err != nil {
			return err
		}
	}
	if !f.Events && !f.Alerts {
		return fmt.Errorf("filter passes neither events nor alerts")
	}
	return nil
}
