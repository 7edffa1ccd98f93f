package falcoimport

import (
	"fmt"
	"regexp"
	"strings"
)

// severities maps Falco's priorities to vigil's severities.
var severities = map[string]string{
	"emergency": "critical", "alert": "critical", "critical": "critical",
	"error": "high", "warning": "medium", "notice": "low",
	"informational": "info", "info": "info", "debug": "info",
}

// nativeException is an exception vigil evaluates as such: its fields
// are plain vigil fields and its comparisons vigil's.
type nativeException struct {
	name   string
	fields []string
	types  []ftype
	comps  []string
	single bool
	rows   [][]cellDef
	lists  map[string]string // cell text naming a Falco list → vigil list
}

// nativeComps are the comparisons vigil's exceptions have.
var nativeComps = map[string]bool{"=": true, "!=": true, "in": true, "startswith": true, "endswith": true, "contains": true}

func (d *ruleDef) translate(t *translator) {
	d.probs, d.notes, d.native, d.message, d.severity = nil, nil, nil, "", ""
	if d.source != "" && d.source != "syscall" {
		d.probs = []*problem{{key: "source " + d.source, msg: "source " + d.source + ": vigil has syscall events only"}}
		return
	}
	cond := t.condition(d.cond)
	probs, notes := t.probs, t.notes
	for _, x := range d.exceptions {
		if len(x.values) == 0 {
			notes = append(notes, "exception "+x.name+" has no values: left out")
			continue
		}
		if n, ok := native(t, x); ok {
			d.native = append(d.native, n)
			continue
		}
		t.probs, t.notes = nil, nil
		kl := t.kindless
		cond = and(cond, not(folded(t, x)))
		t.kindless = kl
		probs, notes = append(probs, t.probs...), append(notes, t.notes...)
		notes = append(notes, "exception "+x.name+" is part of the condition (its fields or comparisons are not vigil exception fields)")
	}
	d.out, d.probs, d.notes = cond, probs, notes
	if cond == "false" && len(probs) == 0 {
		if len(t.kindless) > 0 {
			d.probs = append(d.probs, &problem{key: "evt.type with no vigil kind", msg: "never true in vigil: " + strings.Join(t.kindless, "; ")})
		} else {
			d.probs = append(d.probs, &problem{key: "never true", msg: "the condition can never be true in vigil"})
		}
	}
	if d.forced != nil {
		d.probs = append(d.probs, d.forced)
	}
	sev, ok := severities[strings.ToLower(d.priority)]
	if !ok {
		d.probs = append(d.probs, &problem{key: "priority", msg: fmt.Sprintf("priority %q: not one of Falco's", d.priority)})
	}
	d.severity = sev
	var lost []string
	d.message, lost = message(t.fields, d.output)
	if len(lost) > 0 {
		d.notes = append(d.notes, "message: left out "+strings.Join(lost, ", "))
	}
}

// native translates an exception into a vigil exception when it can.
func native(t *translator, x exceptionDef) (nativeException, bool) {
	n := nativeException{name: x.name, comps: x.comps, single: x.single, rows: x.values, lists: map[string]string{}}
	for i, f := range x.fields {
		if !nativeComps[x.comps[i]] {
			return n, false
		}
		m, err := t.fields.lookup(parseField(f))
		if err != nil || !m.plain || m.typ == tStrList {
			return n, false
		}
		n.fields, n.types = append(n.fields, m.expr), append(n.types, m.typ)
		for _, row := range x.values {
			c := row[i]
			if c.list {
				for _, it := range c.items {
					if _, err := literal(m.typ, it); err != nil {
						return n, false
					}
				}
				continue
			}
			if l, ok := t.lists[c.text]; ok && x.comps[i] == "in" {
				name, ok := l.usable(m.typ)
				if !ok {
					return n, false
				}
				n.lists[c.text] = name
				continue
			}
			if x.comps[i] == "in" {
				return n, false
			}
			if _, err := literal(m.typ, c.text); err != nil {
				return n, false
			}
		}
	}
	return n, true
}

// folded is the exception as a condition: any row whose every cell
// holds.
func folded(t *translator, x exceptionDef) string {
	var rows []string
	for _, row := range x.values {
		var cells []string
		for i, c := range row {
			cn := &checkNode{field: parseField(x.fields[i]), op: x.comps[i]}
			if c.list {
				for _, it := range c.items {
					cn.values = append(cn.values, value{text: it})
				}
				cn.list = true
			} else {
				cn.values = []value{{text: c.text}}
				cn.list = listOps[cn.op]
			}
			cells = append(cells, t.check(cn))
		}
		rows = append(rows, and(cells...))
	}
	return or(rows...)
}

// parseField reads a field name as written in an exception.
func parseField(s string) fieldRef {
	p := &parser{s: s}
	f, ok := p.field()
	if !ok || p.off != len(s) {
		return fieldRef{name: s}
	}
	return f
}

// outputField is a %field in a Falco output, with the key=
// before it when there is one.
var outputField = regexp.MustCompile(`([A-Za-z0-9_.]+=)?%([a-zA-Z0-9_.]+(\[[^\]]*\])?)`)

// message turns a Falco output into a vigil message: %field becomes
// {field} where the field maps to a plain vigil field; other fields are
// left out with their key= (lost).
func message(fs fields, output string) (string, []string) {
	if output == "" {
		return "", nil
	}
	var lost []string
	var b strings.Builder
	last := 0
	for _, m := range outputField.FindAllStringSubmatchIndex(output, -1) {
		b.WriteString(braces(output[last:m[0]]))
		last = m[1]
		key := ""
		if m[2] >= 0 {
			key = output[m[2]:m[3]]
		}
		name := output[m[4]:m[5]]
		if name == "evt.type" {
			b.WriteString(braces(key) + "{kind}")
			continue
		}
		f, err := fs.lookup(parseField(name))
		if err != nil || !f.plain {
			lost = append(lost, name)
			continue
		}
		b.WriteString(braces(key) + "{" + f.expr + "}")
	}
	b.WriteString(braces(output[last:]))
	msg := strings.Join(strings.Fields(b.String()), " ")
	msg = strings.NewReplacer("( ", "(", " )", ")", "()", "").Replace(msg)
	return strings.TrimSpace(msg), lost
}

func braces(s string) string {
	return strings.NewReplacer("{", "{{", "}", "}}").Replace(s)
}
