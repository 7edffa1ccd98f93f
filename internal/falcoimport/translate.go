package falcoimport

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// problem is why (part of) a condition does not translate. key groups
// problems of one cause for the summary ("unknown field proc.sname").
type problem struct {
	key string
	msg string
}

func (p *problem) Error() string { return p.msg }

// translator turns parsed conditions into CEL over vigil's fields.
type translator struct {
	fields fields
	lists  map[string]*listDef
	macros map[string]*macroDef
	// env are the watched environment variables proc.env can see.
	env []string
	// per condition:
	probs []*problem
	notes []string
	// kindless are the evt.type tests of the condition that no vigil
	// event kind answers: false in vigil.
	kindless []string
}

// condition translates one condition; problems and notes are left in
// t.probs and t.notes.
func (t *translator) condition(src string) string {
	t.probs, t.notes, t.kindless = nil, nil, nil
	n, err := parseCondition(src)
	if err != nil {
		t.fail("syntax", "does not parse: %v", err)
		return ""
	}
	return t.node(n)
}

// failed is what a check that does not translate reads as: not a
// constant, so that folding keeps its problem.
const failed = "failed"

// note adds a note unless the condition has it already (a field tested
// twice says what it reads as once).
func (t *translator) note(s string) {
	if !slices.Contains(t.notes, s) {
		t.notes = append(t.notes, s)
	}
}

func (t *translator) fail(key, format string, args ...any) string {
	t.probs = append(t.probs, &problem{key: key, msg: fmt.Sprintf(format, args...)})
	return failed
}

func (t *translator) node(n node) string {
	switch n := n.(type) {
	case *andNode:
		return t.and(n)
	case *orNode:
		parts := make([]string, 0, len(n.args))
		for _, a := range n.args {
			parts = append(parts, t.node(a))
		}
		return or(parts...)
	case *notNode:
		return not(t.node(n.x))
	case *refNode:
		return t.ref(n.name)
	case *checkNode:
		return t.check(n)
	}
	return t.fail("syntax", "unexpected node %T", n)
}

// and is false when one operand is false in vigil (a system call vigil
// has no kind for): what the others could not translate no longer
// matters, and a note says what was left out.
func (t *translator) and(n *andNode) string {
	outer := t.probs
	var parts []string
	var moot []*problem
	never, receive := false, false
	for _, a := range n.args {
		t.probs = nil
		s := t.node(a)
		if s == "false" && len(t.probs) == 0 {
			never = true
		}
		receive = receive || t.receiveOnly(a)
		moot = append(moot, t.probs...)
		parts = append(parts, s)
	}
	t.probs = outer
	if receive && len(moot) > 0 {
		never = true // see receiveOnly
	}
	if !never {
		t.probs = append(t.probs, moot...)
		return and(parts...)
	}
	for _, p := range moot {
		t.notes = append(t.notes, "left out with an alternative that is never true in vigil: "+p.msg)
	}
	return "false"
}

// ref is a macro's name.
func (t *translator) ref(name string) string {
	m, ok := t.macros[name]
	if !ok {
		if _, isList := t.lists[name]; isList {
			return t.fail("list used as a condition", "%s is a list, not a macro", name)
		}
		return t.fail("unknown macro", "unknown macro %s", name)
	}
	if m.state == stateBusy {
		return t.fail("macro cycle", "macro %s refers to itself", name)
	}
	if m.state == stateNew {
		m.translate(t)
	}
	if len(m.probs) > 0 {
		for _, p := range m.probs {
			t.probs = append(t.probs, &problem{key: p.key, msg: "macro " + name + ": " + p.msg})
		}
		return "failed"
	}
	for _, n := range m.notes {
		t.notes = append(t.notes, "macro "+name+": "+n)
	}
	if m.never() {
		// only system calls vigil has no kind for: false, inlined so
		// that what uses it folds
		t.kindless = append(t.kindless, m.kindless...)
		return "false"
	}
	return m.outName
}

func (t *translator) check(c *checkNode) string {
	if s, handled := t.special(c); handled {
		return s
	}
	m, err := t.fields.lookup(c.field)
	if err != nil {
		p := err.(*problem)
		t.probs = append(t.probs, p)
		return failed
	}
	return t.compare(c, m)
}

// compare renders a check of a mapped field.
func (t *translator) compare(c *checkNode, m fieldMap) string {
	x := m.expr
	switch c.op {
	case "exists":
		if m.typ == tString {
			return x + ` != ""`
		}
		return "true"
	case "bcontains", "bstartswith":
		return t.fail("operator "+c.op, "operator %s: vigil has no byte buffers", c.op)
	}
	if c.list && !listOps[c.op] {
		if len(c.values) != 1 {
			return t.fail("operator "+c.op, "%s takes one value, not a list", c.op)
		}
	}
	if listOps[c.op] {
		return t.listCompare(c, m)
	}
	v, ok := t.operand(c, m.typ, c.values[0])
	if !ok {
		return failed
	}
	switch c.op {
	case "=", "==":
		if m.typ == tStrList {
			return x + ".hasAny([" + v + "])"
		}
		return x + " == " + v
	case "!=":
		if m.typ == tStrList {
			return "!" + x + ".hasAny([" + v + "])"
		}
		return x + " != " + v
	case "<", "<=", ">", ">=":
		if m.typ != tInt {
			return t.fail("operator "+c.op+" on a string", "%s %s: compares numbers, %s is not one", c.field, c.op, c.field)
		}
		return x + " " + c.op + " " + v
	}
	if m.typ == tInt || m.typ == tBool {
		return t.fail("operator "+c.op+" on a number", "%s %s: a string operator on a non-string field", c.field, c.op)
	}
	if m.typ == tStrList {
		fn := map[string]string{"contains": "anyContains", "startswith": "anyStartsWith", "endswith": "anyEndsWith"}[c.op]
		if fn == "" {
			return t.fail("operator "+c.op+" on a list", "%s %s: not for a list field", c.field, c.op)
		}
		return x + "." + fn + "([" + v + "])"
	}
	switch c.op {
	case "contains":
		return x + ".contains(" + v + ")"
	case "icontains":
		if c.values[0].field != nil {
			return x + ".lowerAscii().contains(" + v + ".lowerAscii())"
		}
		return x + ".lowerAscii().contains(" + quote(strings.ToLower(c.values[0].text)) + ")"
	case "startswith":
		return x + ".startsWith(" + v + ")"
	case "endswith":
		return x + ".endsWith(" + v + ")"
	case "glob", "iglob", "regex":
		if c.values[0].field != nil {
			return t.fail("operator "+c.op, "%s with a field operand", c.op)
		}
		re := c.values[0].text
		if c.op != "regex" {
			re = globRegexp(re, c.op == "iglob")
		}
		return x + ".matches(" + quote(re) + ")"
	}
	return t.fail("operator "+c.op, "operator %s: vigil has no counterpart", c.op)
}

// operand renders one value for a field of type typ.
func (t *translator) operand(c *checkNode, typ ftype, v value) (string, bool) {
	if v.field != nil {
		m, err := t.fields.lookup(*v.field)
		if err != nil {
			t.probs = append(t.probs, err.(*problem))
			return "", false
		}
		if m.typ != typ {
			t.fail("val() of another type", "%s compared with %s of another type", c.field, v.field)
			return "", false
		}
		return m.expr, true
	}
	s, err := literal(typ, v.text)
	if err != nil {
		t.fail("value type", "%s %s %q: %v", c.field, c.op, v.text, err)
		return "", false
	}
	return s, true
}

// literal renders text as a CEL literal of type typ. Falco's <NA>
// (unknown) reads as "" in vigil.
func literal(typ ftype, text string) (string, error) {
	switch typ {
	case tInt:
		n, err := strconv.ParseInt(text, 0, 64)
		if err != nil {
			return "", fmt.Errorf("want a whole number")
		}
		return strconv.FormatInt(n, 10), nil
	case tBool:
		switch strings.ToLower(text) {
		case "true":
			return "true", nil
		case "false":
			return "false", nil
		}
		return "", fmt.Errorf("want true or false")
	}
	if text == "<NA>" {
		text = ""
	}
	return quote(text), nil
}

// listCompare renders in, intersects and pmatch. Operands that name a
// Falco list use the translated list.
func (t *translator) listCompare(c *checkNode, m fieldMap) string {
	var lits []string
	var refs []string
	for _, v := range c.values {
		if v.field != nil {
			return t.fail("val() in a list", "%s: a field inside a list", c.op)
		}
		if l, ok := t.lists[v.text]; ok && !v.quoted {
			if name, ok := l.usable(m.typ); ok {
				refs = append(refs, name)
				continue
			}
			for _, it := range l.flat {
				s, err := literal(m.typ, it)
				if err != nil {
					return t.fail("list item type", "%s %s (%s): item %q: %v", c.field, c.op, v.text, it, err)
				}
				lits = append(lits, s)
			}
			continue
		}
		s, ok := t.operand(c, elemType(m.typ), v)
		if !ok {
			return failed
		}
		lits = append(lits, s)
	}
	if c.op == "pmatch" {
		if m.typ != tString {
			return t.fail("operator pmatch on a non-path", "pmatch on %s, not a path", c.field)
		}
		return pmatch(m.expr, lits, refs)
	}
	if m.typ == tBool {
		return t.fail("operator "+c.op+" on a bool", "%s on a true/false field", c.op)
	}
	var parts []string
	if len(lits) > 0 {
		refs = append(refs, "["+strings.Join(lits, ", ")+"]")
	}
	for _, r := range refs {
		if m.typ == tStrList {
			parts = append(parts, m.expr+".hasAny("+r+")")
		} else {
			parts = append(parts, m.expr+" in "+r)
		}
	}
	if len(parts) == 0 {
		return "false"
	}
	return or(parts...)
}

func elemType(t ftype) ftype {
	if t == tStrList {
		return tString
	}
	return t
}

// pmatch: the path is one of the prefixes or below one of them.
func pmatch(x string, lits, refs []string) string {
	var parts []string
	if len(lits) > 0 {
		var below []string
		for _, l := range lits {
			p, _ := strconv.Unquote(l)
			below = append(below, quote(strings.TrimSuffix(p, "/")+"/"))
		}
		parts = append(parts, x+" in ["+strings.Join(lits, ", ")+"]",
			x+".startsWithAny(["+strings.Join(below, ", ")+"])")
	}
	for _, r := range refs {
		parts = append(parts, r+".exists(p, "+x+" == p || "+x+".startsWith(p.endsWith(\"/\") ? p : p + \"/\"))")
	}
	return or(parts...)
}

// globRegexp turns a glob (fnmatch without FNM_PATHNAME, as Falco's: *
// crosses /) into an anchored RE2.
func globRegexp(g string, fold bool) string {
	var b strings.Builder
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		switch c := g[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			end := strings.IndexByte(g[i+1:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := g[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += end + 1
		default:
			if strings.ContainsRune(`\.+()|{}^$`, rune(c)) {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
	}
	b.WriteString("$")
	return b.String()
}

// and, or and not build CEL with true and false folded away.
func and(parts ...string) string {
	var keep []string
	for _, p := range parts {
		switch p {
		case "true":
			continue
		case "false":
			return "false"
		}
		keep = append(keep, p)
	}
	switch len(keep) {
	case 0:
		return "true"
	case 1:
		return keep[0]
	}
	return strings.Join(keep, " && ")
}

func or(parts ...string) string {
	var keep []string
	for _, p := range parts {
		switch p {
		case "false":
			continue
		case "true":
			return "true"
		}
		keep = append(keep, p)
	}
	switch len(keep) {
	case 0:
		return "false"
	case 1:
		return keep[0]
	}
	return "(" + strings.Join(keep, " || ") + ")"
}

func not(x string) string {
	switch x {
	case "true":
		return "false"
	case "false":
		return "true"
	}
	return "!(" + x + ")"
}
