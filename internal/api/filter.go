package api

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
)

// StreamFilter selects what a live stream carries. Query parameters of
// GET /v1/events, all optional, repeatable where it makes sense:
//
//	type=all|events|alerts   kind=process_exec   rule=shell_*
//	severity=high (minimum)  pid=1234            binary=curl or /usr/bin/*
//	container=3f2a9c (id prefix, name, or "host")
type StreamFilter struct {
	Events, Alerts bool
	Kinds          []event.Kind
	Rules          []string
	MinSeverity    event.Severity
	PIDs           []uint32
	Binaries       []string
	Containers     []string
}

// Query turns the filter into URL parameters.
func (f StreamFilter) Query() url.Values {
	q := url.Values{}
	switch {
	case f.Events && !f.Alerts:
		q.Set("type", "events")
	case f.Alerts && !f.Events:
		q.Set("type", "alerts")
	}
	for _, k := range f.Kinds {
		q.Add("kind", string(k))
	}
	for _, r := range f.Rules {
		q.Add("rule", r)
	}
	if f.MinSeverity != "" {
		q.Set("severity", string(f.MinSeverity))
	}
	for _, p := range f.PIDs {
		q.Add("pid", strconv.FormatUint(uint64(p), 10))
	}
	for _, b := range f.Binaries {
		q.Add("binary", b)
	}
	for _, c := range f.Containers {
		q.Add("container", c)
	}
	return q
}

// ParseStreamFilter reads the query of GET /v1/events.
func ParseStreamFilter(q url.Values) (StreamFilter, error) {
	f := StreamFilter{Events: true, Alerts: true}
	for key, vals := range q {
		for _, v := range vals {
			if err := f.set(key, v); err != nil {
				return f, err
			}
		}
	}
	// naming rules or a severity asks for alerts
	if (len(f.Rules) > 0 || f.MinSeverity != "") && q.Get("type") == "" {
		f.Events = false
	}
	return f, nil
}

// SetType asks for "all" (events and alerts), "events" or "alerts".
func (f *StreamFilter) SetType(what string) error {
	switch what {
	case "all":
		f.Events, f.Alerts = true, true
	case "events":
		f.Events, f.Alerts = true, false
	case "alerts":
		f.Events, f.Alerts = false, true
	default:
		return fmt.Errorf("%q: want all, events or alerts", what)
	}
	return nil
}

func (f *StreamFilter) set(key, v string) error {
	switch key {
	case "type":
		if err := f.SetType(v); err != nil {
			return fmt.Errorf("type %w", err)
		}
	case "kind":
		k, err := output.ParseKind(v)
		if err != nil {
			return err
		}
		f.Kinds = append(f.Kinds, k)
	case "rule":
		if _, err := path.Match(v, ""); err != nil {
			return fmt.Errorf("rule pattern %q: %w", v, err)
		}
		f.Rules = append(f.Rules, v)
	case "severity":
		sev, err := output.ParseSeverity(v)
		if err != nil {
			return err
		}
		f.MinSeverity = sev
	case "pid":
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return fmt.Errorf("pid %q: want a process id", v)
		}
		f.PIDs = append(f.PIDs, uint32(n))
	case "binary":
		if _, err := path.Match(v, ""); err != nil {
			return fmt.Errorf("binary pattern %q: %w", v, err)
		}
		f.Binaries = append(f.Binaries, v)
	case "container":
		f.Containers = append(f.Containers, v)
	default:
		return fmt.Errorf("unknown filter %q: use type, kind, rule, severity, pid, binary or container", key)
	}
	return nil
}

// Event reports whether the stream carries ev.
func (f *StreamFilter) Event(ev *event.Event) bool {
	return f.Events && len(f.Rules) == 0 && f.MinSeverity == "" && f.matches(ev)
}

// Alert reports whether the stream carries al.
func (f *StreamFilter) Alert(al *event.Alert) bool {
	if !f.Alerts || !output.AtLeast(al.Rule.Severity, f.MinSeverity) || !matchAny(f.Rules, al.Rule.Name, false) {
		return false
	}
	return al.Event == nil || f.matches(al.Event)
}

func (f *StreamFilter) matches(ev *event.Event) bool {
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, ev.Kind) {
		return false
	}
	p := ev.Process
	if len(f.PIDs) > 0 && (p == nil || !slices.Contains(f.PIDs, p.PID)) {
		return false
	}
	if len(f.Binaries) > 0 && (p == nil || !matchAny(f.Binaries, p.Binary, true)) {
		return false
	}
	if len(f.Containers) > 0 && (p == nil || !f.container(p.Container)) {
		return false
	}
	return true
}

func (f *StreamFilter) container(c *event.Container) bool {
	id, name := event.HostContainerID, ""
	if c != nil {
		id, name = c.ID, c.Name
	}
	for _, want := range f.Containers {
		if want == name || strings.HasPrefix(id, want) {
			return true
		}
	}
	return false
}

// matchAny matches exact names and globs; with base set, a pattern
// without a slash is matched against the last path element too, so that
// "curl" finds /usr/bin/curl.
func matchAny(patterns []string, s string, base bool) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p == s {
			return true
		}
		if ok, _ := path.Match(p, s); ok {
			return true
		}
		if base && !strings.Contains(p, "/") {
			if ok, _ := path.Match(p, path.Base(s)); ok {
				return true
			}
		}
	}
	return false
}
