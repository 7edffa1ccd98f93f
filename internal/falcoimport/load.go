package falcoimport

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// File is one Falco rules file.
type File struct {
	Name string
	Data []byte
}

// where is a place in a Falco file.
type where struct {
	file string
	line int
}

func (w where) String() string { return fmt.Sprintf("%s:%d", w.file, w.line) }

type state int

const (
	stateNew state = iota
	stateBusy
	stateDone
)

// listDef is a Falco list after every append and override.
type listDef struct {
	name, outName string
	at            where
	items         []string
	flat          []string // items with nested lists expanded
	numeric       bool
}

// usable returns the translated list's name when its items have the
// type a field of type typ compares with.
func (l *listDef) usable(typ ftype) (string, bool) {
	if len(l.flat) == 0 { // vigil's empty lists hold strings
		return l.outName, typ != tInt
	}
	if l.numeric == (typ == tInt) {
		return l.outName, true
	}
	return "", false
}

// macroDef is a Falco macro after every append and override.
type macroDef struct {
	name, outName string
	at            where
	cond          string
	state         state
	out           string
	probs         []*problem
	notes         []string
	kindless      []string
	forced        *problem // set when the translation did not validate
}

// never says the macro tests only system calls vigil has no kind for.
func (m *macroDef) never() bool { return m.out == "false" && len(m.kindless) > 0 }

func (m *macroDef) translate(t *translator) {
	m.state = stateBusy
	saved := *t
	out := t.condition(m.cond)
	m.out, m.probs, m.notes, m.kindless = out, t.probs, t.notes, t.kindless
	if m.forced != nil {
		m.probs = append(m.probs, m.forced)
	}
	if m.never() {
		m.notes = append(m.notes, "never true in vigil: "+strings.Join(m.kindless, "; "))
	}
	t.probs, t.notes, t.kindless = saved.probs, saved.notes, saved.kindless
	m.state = stateDone
}

// exceptionDef is one item of a Falco rule's exceptions.
type exceptionDef struct {
	name   string
	fields []string
	comps  []string
	single bool        // fields given as one name: values are bare
	values [][]cellDef // rows of cells
}

// cellDef is one value of an exception row: a scalar or a list.
type cellDef struct {
	text  string
	items []string
	list  bool
}

// ruleDef is a Falco rule after every append and override.
type ruleDef struct {
	name, outName string
	at            where
	desc, cond    string
	output        string
	priority      string
	source        string
	tags          []string
	enabled       *bool
	exceptions    []exceptionDef
	forced        *problem
	// the translation:
	out      string
	probs    []*problem
	notes    []string
	native   []nativeException
	message  string
	severity string
}

// ruleSet is what the Falco files define, in definition order.
type ruleSet struct {
	lists  map[string]*listDef
	macros map[string]*macroDef
	rules  map[string]*ruleDef
	order  []any // *listDef, *macroDef, *ruleDef
	skips  []Skipped
}

// load reads Falco files in order, applying append and override as Falco
// does: a later definition of a name replaces it, append: true (or
// override: {key: append}) extends it.
func load(files []File) (*ruleSet, error) {
	rs := &ruleSet{lists: map[string]*listDef{}, macros: map[string]*macroDef{}, rules: map[string]*ruleDef{}}
	for _, f := range files {
		for doc, err := range yamldoc.Documents(f.Data) {
			if err != nil {
				return nil, fmt.Errorf("%s: invalid YAML: %w", f.Name, err)
			}
			root := doc.Content[0]
			if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
				continue
			}
			if root.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("%s:%d: a Falco rules file is a list of entries", f.Name, root.Line)
			}
			for _, item := range root.Content {
				if err := rs.entry(f.Name, item); err != nil {
					return nil, err
				}
			}
		}
	}
	return rs, nil
}

// raw is one entry's keys.
type raw struct {
	at     where
	values map[string]*yaml.Node
}

func (r raw) str(key string) string {
	if n, ok := r.values[key]; ok && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

func (r raw) has(key string) bool { _, ok := r.values[key]; return ok }

// mode says how key changes an earlier definition: "append", "replace"
// or "" (the entry redefines the whole name).
func (r raw) mode(key string) string {
	if r.str("append") == "true" {
		return "append"
	}
	if o, ok := r.values["override"]; ok && o.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(o.Content); i += 2 {
			if o.Content[i].Value == key {
				return o.Content[i+1].Value
			}
		}
		return "keep"
	}
	return ""
}

func (rs *ruleSet) entry(file string, n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: an entry is a mapping", file, n.Line)
	}
	r := raw{at: where{file, n.Line}, values: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		r.values[n.Content[i].Value] = n.Content[i+1]
	}
	switch {
	case r.has("list"):
		return rs.list(r)
	case r.has("macro"):
		return rs.macro(r)
	case r.has("rule"):
		return rs.rule(r)
	}
	for _, k := range []string{"required_engine_version", "required_plugin_versions"} {
		if r.has(k) {
			rs.skips = append(rs.skips, Skipped{Type: "other", Name: k, At: r.at.String(), Reasons: []Reason{{Key: "engine requirement", Msg: k + ": Falco's engine version, nothing to translate"}}})
			return nil
		}
	}
	return fmt.Errorf("%s: an entry has none of list, macro, rule", r.at)
}

func scalars(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		if c.Kind == yaml.ScalarNode {
			out = append(out, c.Value)
		}
	}
	return out
}

// unquote strips the inner quotes Falco lists use for items with
// special characters ('"(systemd)"').
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

func (rs *ruleSet) list(r raw) error {
	name := r.str("list")
	items := scalars(r.values["items"])
	for i := range items {
		items[i] = unquote(items[i])
	}
	l, exists := rs.lists[name]
	switch mode := r.mode("items"); {
	case exists && mode == "append":
		l.items = append(l.items, items...)
	case mode == "append":
		return fmt.Errorf("%s: list %s: append to a list not defined before", r.at, name)
	case exists && mode == "keep":
	case exists:
		l.items, l.at = items, r.at
	default:
		l = &listDef{name: name, at: r.at, items: items}
		rs.lists[name] = l
		rs.order = append(rs.order, l)
	}
	return nil
}

func (rs *ruleSet) macro(r raw) error {
	name := r.str("macro")
	cond := r.str("condition")
	m, exists := rs.macros[name]
	switch mode := r.mode("condition"); {
	case exists && mode == "append":
		m.cond += " " + cond
	case mode == "append":
		return fmt.Errorf("%s: macro %s: append to a macro not defined before", r.at, name)
	case exists && mode == "keep":
	case exists:
		m.cond, m.at = cond, r.at
	default:
		m = &macroDef{name: name, at: r.at, cond: cond}
		rs.macros[name] = m
		rs.order = append(rs.order, m)
	}
	return nil
}

func (rs *ruleSet) rule(r raw) error {
	name := r.str("rule")
	d, exists := rs.rules[name]
	excs, err := exceptions(r)
	if err != nil {
		return err
	}
	onlyEnabled := r.has("enabled") && !r.has("condition") && !r.has("append") && !r.has("override")
	if !exists {
		if r.mode("condition") == "append" || onlyEnabled {
			return fmt.Errorf("%s: rule %s: changes a rule not defined before", r.at, name)
		}
		d = &ruleDef{name: name}
		rs.rules[name] = d
		rs.order = append(rs.order, d)
		*d = ruleDef{name: name, at: r.at}
		d.set(r, excs, "replace")
		return nil
	}
	if onlyEnabled {
		b := r.str("enabled") == "true"
		d.enabled = &b
		return nil
	}
	if r.mode("condition") == "" {
		*d = ruleDef{name: name, at: r.at}
		d.set(r, excs, "replace")
		return nil
	}
	d.set(r, excs, "")
	return nil
}

// set applies an entry's keys; with how == "" each key follows its own
// append or override mode.
func (d *ruleDef) set(r raw, excs []exceptionDef, how string) {
	mode := func(key string) string {
		if how != "" {
			return how
		}
		return r.mode(key)
	}
	str := func(key string, dst *string) {
		if !r.has(key) {
			return
		}
		switch mode(key) {
		case "append":
			*dst += " " + r.str(key)
		case "keep":
		default:
			*dst = r.str(key)
		}
	}
	str("desc", &d.desc)
	str("condition", &d.cond)
	str("output", &d.output)
	str("priority", &d.priority)
	str("source", &d.source)
	if r.has("tags") {
		if mode("tags") == "append" {
			d.tags = append(d.tags, scalars(r.values["tags"])...)
		} else if mode("tags") != "keep" {
			d.tags = scalars(r.values["tags"])
		}
	}
	if r.has("enabled") {
		b := r.str("enabled") == "true"
		d.enabled = &b
	}
	if r.has("exceptions") {
		if mode("exceptions") == "append" {
			d.exceptions = mergeExceptions(d.exceptions, excs)
		} else if mode("exceptions") != "keep" {
			d.exceptions = excs
		}
	}
}

// mergeExceptions adds rows to exceptions of the same name, and new ones.
func mergeExceptions(old, more []exceptionDef) []exceptionDef {
	for _, x := range more {
		found := false
		for i := range old {
			if old[i].name == x.name {
				old[i].values = append(old[i].values, x.values...)
				found = true
			}
		}
		if !found {
			old = append(old, x)
		}
	}
	return old
}

func exceptions(r raw) ([]exceptionDef, error) {
	n, ok := r.values["exceptions"]
	if !ok {
		return nil, nil
	}
	var out []exceptionDef
	for _, item := range n.Content {
		x := raw{at: where{r.at.file, item.Line}, values: map[string]*yaml.Node{}}
		for i := 0; i+1 < len(item.Content); i += 2 {
			x.values[item.Content[i].Value] = item.Content[i+1]
		}
		d := exceptionDef{name: x.str("name"), fields: scalars(x.values["fields"]), comps: scalars(x.values["comps"])}
		if f := x.values["fields"]; f != nil && f.Kind == yaml.ScalarNode {
			d.single = true
		}
		for len(d.comps) < len(d.fields) {
			d.comps = append(d.comps, "=")
		}
		if v := x.values["values"]; v != nil {
			for _, row := range v.Content {
				cells := []*yaml.Node{row}
				if !d.single {
					cells = row.Content
				}
				var cs []cellDef
				for _, c := range cells {
					if c.Kind == yaml.SequenceNode {
						cs = append(cs, cellDef{items: scalars(c), list: true})
					} else {
						cs = append(cs, cellDef{text: unquote(c.Value)})
					}
				}
				if len(cs) != len(d.fields) {
					return nil, fmt.Errorf("%s: exception %s: a row has %d values for %d fields", x.at, d.name, len(cs), len(d.fields))
				}
				d.values = append(d.values, cs)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// flatten expands list names among a list's items (Falco lists include
// other lists by name).
func (rs *ruleSet) flatten() {
	var walk func(l *listDef, seen map[string]bool) []string
	walk = func(l *listDef, seen map[string]bool) []string {
		var out []string
		for _, it := range l.items {
			if sub, ok := rs.lists[it]; ok && !seen[it] {
				seen[it] = true
				out = append(out, walk(sub, seen)...)
				continue
			}
			out = append(out, it)
		}
		return out
	}
	for _, l := range rs.lists {
		l.flat = walk(l, map[string]bool{l.name: true})
		l.numeric = len(l.flat) > 0
		for _, it := range l.flat {
			if _, err := literal(tInt, it); err != nil || strings.HasPrefix(it, "0") && it != "0" {
				l.numeric = false
			}
		}
	}
}
