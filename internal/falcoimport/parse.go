package falcoimport

import (
	"fmt"
	"strings"
	"unicode"
)

// node is a parsed Falco condition.
type node interface{ pos() int }

// andNode and orNode hold two or more operands.
type andNode struct {
	at   int
	args []node
}

type orNode struct {
	at   int
	args []node
}

type notNode struct {
	at int
	x  node
}

// refNode names a macro (a bare identifier without a dot).
type refNode struct {
	at   int
	name string
}

// checkNode is a field test: field, operator and operand(s). A unary
// operator (exists) has no values; in, intersects and pmatch take a
// parenthesised list (list says so).
type checkNode struct {
	at     int
	field  fieldRef
	op     string
	values []value
	list   bool
}

func (n *andNode) pos() int   { return n.at }
func (n *orNode) pos() int    { return n.at }
func (n *notNode) pos() int   { return n.at }
func (n *refNode) pos() int   { return n.at }
func (n *checkNode) pos() int { return n.at }

// fieldRef is a Falco field with its optional argument (proc.aname[2],
// k8s.pod.label[app]) and transformer (tolower(proc.name)).
type fieldRef struct {
	name      string
	arg       string
	hasArg    bool
	transform string
}

func (f fieldRef) String() string {
	s := f.name
	if f.hasArg {
		s += "[" + f.arg + "]"
	}
	if f.transform != "" {
		s = f.transform + "(" + s + ")"
	}
	return s
}

// value is an operand: a bare word, a quoted string, or another field
// (val(field)).
type value struct {
	text   string
	quoted bool
	field  *fieldRef
}

// unaryOps take no operand; listOps take a parenthesised list (in also
// takes a single value in parentheses).
var (
	wordOps  = []string{"contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith", "glob", "iglob", "pmatch", "in", "intersects", "exists", "regex"}
	symOps   = []string{"==", "!=", "<=", ">=", "=", "<", ">"}
	listOps  = map[string]bool{"in": true, "intersects": true, "pmatch": true}
	unaryOps = map[string]bool{"exists": true}
)

// parser reads Falco's filter language: and, or, not, parentheses, field
// checks and macro names.
type parser struct {
	s   string
	off int
}

// SyntaxError is a condition Falco's grammar does not allow.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// parseCondition parses a whole condition.
func parseCondition(s string) (n node, err error) {
	p := &parser{s: s}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			n, err = nil, se
		}
	}()
	n = p.or()
	p.space()
	if p.off < len(p.s) {
		p.fail("unexpected %q", p.rest(12))
	}
	return n, nil
}

func (p *parser) fail(format string, args ...any) {
	panic(&SyntaxError{Offset: p.off, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) rest(n int) string {
	r := p.s[p.off:]
	if len(r) > n {
		r = r[:n]
	}
	return r
}

func (p *parser) space() {
	for p.off < len(p.s) && unicode.IsSpace(rune(p.s[p.off])) {
		p.off++
	}
}

// keyword consumes the word kw when it stands alone at the cursor.
func (p *parser) keyword(kw string) bool {
	p.space()
	if !strings.HasPrefix(p.s[p.off:], kw) {
		return false
	}
	end := p.off + len(kw)
	if end < len(p.s) && isWordByte(p.s[end]) {
		return false
	}
	p.off = end
	return true
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *parser) or() node {
	at := p.off
	first := p.and()
	args := []node{first}
	for p.keyword("or") {
		args = append(args, p.and())
	}
	if len(args) == 1 {
		return first
	}
	return &orNode{at: at, args: args}
}

func (p *parser) and() node {
	at := p.off
	first := p.not()
	args := []node{first}
	for p.keyword("and") {
		args = append(args, p.not())
	}
	if len(args) == 1 {
		return first
	}
	return &andNode{at: at, args: args}
}

func (p *parser) not() node {
	p.space()
	at := p.off
	if p.keyword("not") {
		return &notNode{at: at, x: p.not()}
	}
	return p.primary()
}

func (p *parser) primary() node {
	p.space()
	at := p.off
	if p.off >= len(p.s) {
		p.fail("condition ends where a test belongs")
	}
	if p.s[p.off] == '(' {
		p.off++
		n := p.or()
		p.space()
		if p.off >= len(p.s) || p.s[p.off] != ')' {
			p.fail("missing )")
		}
		p.off++
		return n
	}
	f, ok := p.field()
	if !ok {
		p.fail("want a field, a macro or (, got %q", p.rest(12))
	}
	if !strings.Contains(f.name, ".") && !f.hasArg && f.transform == "" {
		// a macro, unless an operator follows (fields always have a dot)
		save := p.off
		if op := p.operator(); op == "" {
			return &refNode{at: at, name: f.name}
		}
		p.off = save
	}
	op := p.operator()
	if op == "" {
		p.fail("want an operator after %s, got %q", f, p.rest(12))
	}
	c := &checkNode{at: at, field: f, op: op}
	if unaryOps[op] {
		return c
	}
	p.space()
	if p.off < len(p.s) && p.s[p.off] == '(' {
		c.values, c.list = p.valueList(), true
		return c
	}
	if listOps[op] {
		p.fail("%s takes a list in parentheses", op)
	}
	c.values = []value{p.value(false)}
	return c
}

// field reads a field name with its optional [arg], or a transformer
// call around one.
func (p *parser) field() (fieldRef, bool) {
	p.space()
	start := p.off
	for p.off < len(p.s) && (isWordByte(p.s[p.off]) && p.s[p.off] != '-') {
		p.off++
	}
	if p.off == start {
		return fieldRef{}, false
	}
	name := p.s[start:p.off]
	if p.off < len(p.s) && p.s[p.off] == '(' && !strings.Contains(name, ".") {
		p.off++
		inner, ok := p.field()
		p.space()
		if !ok || p.off >= len(p.s) || p.s[p.off] != ')' {
			p.fail("want a field inside %s( )", name)
		}
		p.off++
		inner.transform = name
		return inner, true
	}
	f := fieldRef{name: name}
	if p.off < len(p.s) && p.s[p.off] == '[' {
		end := strings.IndexByte(p.s[p.off:], ']')
		if end < 0 {
			p.fail("missing ]")
		}
		f.arg, f.hasArg = p.s[p.off+1:p.off+end], true
		p.off += end + 1
	}
	return f, true
}

// operator reads an operator, or returns "" and leaves the cursor.
func (p *parser) operator() string {
	p.space()
	for _, op := range symOps {
		if strings.HasPrefix(p.s[p.off:], op) {
			p.off += len(op)
			return op
		}
	}
	for _, op := range wordOps {
		if p.keyword(op) {
			return op
		}
	}
	return ""
}

func (p *parser) valueList() []value {
	p.off++ // (
	var out []value
	for {
		p.space()
		if p.off < len(p.s) && p.s[p.off] == ')' {
			p.off++
			return out
		}
		out = append(out, p.value(true))
		p.space()
		if p.off < len(p.s) && p.s[p.off] == ',' {
			p.off++
			continue
		}
		if p.off < len(p.s) && p.s[p.off] == ')' {
			p.off++
			return out
		}
		p.fail("want , or ) in a list, got %q", p.rest(12))
	}
}

// value reads a quoted string, val(field), or a bare word: anything up
// to white space or a parenthesis (and, in a list, a comma).
func (p *parser) value(inList bool) value {
	p.space()
	if p.off >= len(p.s) {
		p.fail("want a value")
	}
	if q := p.s[p.off]; q == '"' || q == '\'' {
		return value{text: p.quoted(q), quoted: true}
	}
	if strings.HasPrefix(p.s[p.off:], "val(") {
		p.off += len("val(")
		f, ok := p.field()
		p.space()
		if !ok || p.off >= len(p.s) || p.s[p.off] != ')' {
			p.fail("want a field inside val( )")
		}
		p.off++
		return value{field: &f}
	}
	start := p.off
	for p.off < len(p.s) {
		c := p.s[p.off]
		if unicode.IsSpace(rune(c)) || c == '(' || c == ')' || inList && c == ',' {
			break
		}
		p.off++
	}
	if p.off == start {
		p.fail("want a value, got %q", p.rest(12))
	}
	return value{text: p.s[start:p.off]}
}

func (p *parser) quoted(q byte) string {
	p.off++
	var b strings.Builder
	for p.off < len(p.s) {
		c := p.s[p.off]
		switch {
		case c == '\\' && p.off+1 < len(p.s):
			b.WriteByte(p.s[p.off+1])
			p.off += 2
		case c == q:
			p.off++
			return b.String()
		default:
			b.WriteByte(c)
			p.off++
		}
	}
	p.fail("unterminated string")
	return ""
}
