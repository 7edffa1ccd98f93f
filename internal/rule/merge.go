package rule

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// defs are the entries of all files after append and override, in
// definition order.
type defs struct {
	lists  []*listDef
	macros []*macroDef
	tracks []*trackDef
	rules  []*ruleDef
	// names maps "list x" / "macro x" / "rule x" / "track x" to where it
	// was first defined.
	names map[string]pos
	warns Errors
}

func (d *defs) list(name string) *listDef   { return byName(d.lists, name) }
func (d *defs) macro(name string) *macroDef { return byName(d.macros, name) }
func (d *defs) rule(name string) *ruleDef   { return byName(d.rules, name) }

// byName is the definition called name, or nil.
func byName[T interface{ defName() string }](defs []T, name string) T {
	for _, x := range defs {
		if x.defName() == name {
			return x
		}
	}
	var none T
	return none
}

// collect parses the sources in order and applies each entry to what the
// earlier ones defined.
func collect(sources []Source) (*defs, Errors) {
	d := &defs{names: map[string]pos{}}
	var errs Errors
	for i := range sources {
		entries, perrs := parseFile(&sources[i])
		errs = append(errs, perrs...)
		if len(entries) == 0 && len(perrs) == 0 {
			// a ConfigMap emptied by mistake, a file truncated on copy:
			// loading nothing from it is allowed, but not in silence
			d.warns = append(d.warns, &Error{File: sources[i].Name, Line: 1, Column: 1,
				Msg: "the file defines nothing: no rule, list, macro or track (empty, or only comments)"})
		}
		for _, e := range entries {
			errs = append(errs, d.apply(e)...)
		}
	}
	return d, errs
}

func (d *defs) apply(e *entry) Errors {
	first, exists := d.names[e.label()]
	switch {
	case (e.append || e.over) && !exists:
		key := "append"
		if e.over {
			key = "override"
		}
		return Errors{e.errf(key, "no earlier %s %q to %s%s", e.typ, e.name, key, didYouMean(e.name, d.namesOf(e.typ)))}
	case exists && !e.append && !e.over && !isToggle(e):
		return Errors{errAt(e.at, e.label(), "", "duplicate name: first defined at %s:%d:%d; add append: true or override: true to change it",
			first.file, first.line, first.col)}
	case !exists:
		d.names[e.label()] = e.at
	}
	switch e.typ {
	case entryList:
		return d.applyList(e)
	case entryMacro:
		return d.applyMacro(e)
	case entryTrack:
		return d.applyTrack(e)
	}
	return d.applyRule(e)
}

// isToggle says whether e only switches an earlier rule on or off.
func isToggle(e *entry) bool {
	return e.typ == entryRule && e.has("enabled") && len(e.values) == 2
}

func (d *defs) namesOf(t entryType) []string {
	var out []string
	prefix := string(t) + " "
	for k := range d.names {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			out = append(out, name)
		}
	}
	return out
}

func (d *defs) applyList(e *entry) Errors {
	n, ok := e.values["items"]
	if !ok {
		return Errors{errAt(e.at, e.label(), "items", "missing")}
	}
	if n.Kind != yaml.SequenceNode {
		return Errors{e.errf("items", "want a list of values")}
	}
	items := make([]listItem, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
			return Errors{errAt(e.posOf(c), e.label(), "items", "want a string or number, got %s", yamldoc.Describe(c))}
		}
		if c.Tag != "!!str" && c.Tag != "!!int" {
			return Errors{errAt(e.posOf(c), e.label(), "items", "want a string or a whole number, got %q (quote it to make it a string)", c.Value)}
		}
		items = append(items, listItem{val: c.Value, isInt: c.Tag == "!!int", at: e.posOf(c)})
	}
	l := d.list(e.name)
	switch {
	case l == nil:
		d.lists = append(d.lists, &listDef{name: e.name, at: e.at, items: items})
	case e.append:
		l.items = append(l.items, items...)
	default:
		l.items = items
	}
	if l = d.list(e.name); len(l.items) > 0 {
		for _, it := range l.items[1:] {
			if it.isInt != l.items[0].isInt {
				return Errors{errAt(it.at, e.label(), "items", "mixes strings and numbers; a list holds one or the other")}
			}
		}
	}
	return nil
}

func (d *defs) applyMacro(e *entry) Errors {
	cond, _, err := e.text("condition", true)
	if err != nil {
		return Errors{err}
	}
	m := d.macro(e.name)
	switch {
	case m == nil:
		d.macros = append(d.macros, &macroDef{name: e.name, at: e.at, cond: cond})
	case e.append:
		m.cond = m.cond.appendText(cond)
	default:
		m.cond = cond
	}
	return nil
}

func (d *defs) applyTrack(e *entry) Errors {
	var errs Errors
	t := &trackDef{name: e.name, at: e.at, window: time.Minute, maxKeys: 4096}
	var err *Error
	if t.description, err = e.str("description", false); err != nil {
		errs = append(errs, err)
	}
	if t.cond, _, err = e.text("condition", true); err != nil {
		errs = append(errs, err)
	}
	if t.key, _, err = e.text("key", true); err != nil {
		errs = append(errs, err)
	}
	if t.value, t.hasValue, err = e.text("value", false); err != nil {
		errs = append(errs, err)
	}
	if w, werr := e.str("window", false); werr != nil {
		errs = append(errs, werr)
	} else if w != "" {
		dur, perr := time.ParseDuration(w)
		if perr != nil || dur <= 0 {
			errs = append(errs, e.errf("window", "want a positive duration such as 30s or 10m, got %q", w))
		}
		t.window = dur
	}
	if t.maxKeys, err = e.positiveInt("max_keys", t.maxKeys); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errs
	}
	for i, old := range d.tracks {
		if old.name == e.name {
			d.tracks[i] = t
			return nil
		}
	}
	d.tracks = append(d.tracks, t)
	return nil
}

func (d *defs) applyRule(e *entry) Errors {
	r := d.rule(e.name)
	if r == nil {
		return d.newRule(e)
	}
	if isToggle(e) && !e.append && !e.over {
		var err *Error
		if r.enabled, err = e.optBool("enabled", true); err != nil {
			return Errors{err}
		}
		return nil
	}
	if e.append {
		return appendRule(r, e)
	}
	return overrideRule(r, e)
}

func (d *defs) newRule(e *entry) Errors {
	r := &ruleDef{name: e.name, at: e.at, enabled: true, action: ActionAlert, severity: event.SeverityMedium,
		fields: map[string]*entry{}}
	for k := range e.values {
		r.fields[k] = e
	}
	var errs Errors
	var err *Error
	if r.description, err = e.str("description", true); err != nil {
		errs = append(errs, err)
	}
	if r.cond, _, err = e.text("condition", true); err != nil {
		errs = append(errs, err)
	}
	if !e.has("severity") {
		errs = append(errs, errAt(e.at, e.label(), "severity", "missing; want one of %s", strings.Join(severities(), ", ")))
	}
	errs = append(errs, setRuleFields(r, e)...)
	d.rules = append(d.rules, r)
	return errs
}

// setRuleFields applies the keys a new rule and an override share.
func setRuleFields(r *ruleDef, e *entry) Errors {
	var errs Errors
	var err *Error
	if e.has("severity") {
		s, _ := e.str("severity", false)
		if !slices.Contains(severities(), s) {
			errs = append(errs, e.errf("severity", "unknown severity %q%s; want one of %s", s, didYouMean(s, severities()), strings.Join(severities(), ", ")))
		}
		r.severity = event.Severity(s)
	}
	if e.has("tags") {
		if r.tags, err = e.strList("tags"); err != nil {
			errs = append(errs, err)
		}
	}
	if e.has("message") {
		if r.message, r.hasMessage, err = e.text("message", false); err != nil {
			errs = append(errs, err)
		}
	}
	if r.enabled, err = e.optBool("enabled", r.enabled); err != nil {
		errs = append(errs, err)
	}
	if e.has("action") {
		a, _ := e.str("action", false)
		valid := []string{string(ActionAlert), string(ActionKill), string(ActionDeny)}
		if !slices.Contains(valid, a) {
			errs = append(errs, e.errf("action", "unknown action %q%s; want alert, kill or deny", a, didYouMean(a, valid)))
		}
		r.action = Action(a)
	}
	if e.has("scope") {
		s, serrs := e.scope()
		errs = append(errs, serrs...)
		r.scope = s
	}
	if e.has("exceptions") {
		xs, xerrs := parseExceptions(e)
		errs = append(errs, xerrs...)
		r.exceptions = xs
	}
	return errs
}

// overrideRule replaces the fields e gives.
func overrideRule(r *ruleDef, e *entry) Errors {
	var errs Errors
	for k := range e.values {
		r.fields[k] = e
	}
	if e.has("description") {
		r.description, _ = e.str("description", false)
	}
	if e.has("condition") {
		cond, _, err := e.text("condition", true)
		if err != nil {
			errs = append(errs, err)
		}
		r.cond = cond
	}
	return append(errs, setRuleFields(r, e)...)
}

// appendRule adds e's condition (as "(old) new"), exceptions and tags.
func appendRule(r *ruleDef, e *entry) Errors {
	var errs Errors
	for _, k := range []string{"description", "severity", "message", "action", "enabled", "scope"} {
		if e.has(k) {
			errs = append(errs, e.errf(k, "cannot append to %s; use override: true to replace it", k))
		}
	}
	if e.has("condition") {
		cond, _, err := e.text("condition", true)
		if err != nil {
			errs = append(errs, err)
		} else {
			r.cond = r.cond.appendText(cond)
			r.fields["condition"] = e
		}
	}
	if e.has("tags") {
		tags, err := e.strList("tags")
		if err != nil {
			errs = append(errs, err)
		}
		r.tags = append(r.tags, tags...)
	}
	xs, xerrs := parseExceptions(e)
	errs = append(errs, xerrs...)
	for _, x := range xs {
		errs = append(errs, mergeException(r, x)...)
	}
	return errs
}

// mergeException appends x's rows to the rule's exception of the same
// name, or adds x as a new exception.
func mergeException(r *ruleDef, x *exceptionDef) Errors {
	for _, old := range r.exceptions {
		if old.name != x.name {
			continue
		}
		if x.fields != nil && fmt.Sprint(x.fields) != fmt.Sprint(old.fields) {
			return Errors{errAt(x.at, x.entry.label(), "exceptions", "exception %s: fields %v differ from the earlier %v", x.name, x.fields, old.fields)}
		}
		old.rows = append(old.rows, x.rows...)
		return nil
	}
	if x.fields == nil {
		return Errors{errAt(x.at, x.entry.label(), "exceptions", "exception %s is new: it needs fields", x.name)}
	}
	r.exceptions = append(r.exceptions, x)
	return nil
}
