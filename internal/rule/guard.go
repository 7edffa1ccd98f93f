package rule

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
)

// guardVals are the values a string field is tested against.
type guardVals struct {
	eq, prefix, suffix, contains []string
}

// fieldPath renders a select chain rooted at an identifier ("file.path").
func fieldPath(e ast.Expr) (string, bool) {
	switch e.Kind() {
	case ast.IdentKind:
		return e.AsIdent(), true
	case ast.SelectKind:
		s := e.AsSelect()
		if s.IsTestOnly() {
			return "", false
		}
		p, ok := fieldPath(s.Operand())
		return p + "." + s.FieldName(), ok
	}
	return "", false
}

// stringTest recognises `F == "x"`, `F in ["x", …]`, `F.startsWith("x")`,
// `F.startsWithAny([…])`, `F.endsWith("x")`, `F.endsWithAny([…])` and
// disjunctions of those on one F. want, if set, restricts F.
func stringTest(e ast.Expr, want string) (string, guardVals, bool) {
	var g guardVals
	if e.Kind() != ast.CallKind {
		return "", g, false
	}
	c := e.AsCall()
	args := c.Args()
	var field ast.Expr
	var lits []string
	switch fn := c.FunctionName(); {
	case fn == operators.LogicalOr:
		path := ""
		for _, a := range args {
			p, sub, ok := stringTest(a, want)
			if !ok || (path != "" && p != path) {
				return "", g, false
			}
			path = p
			g.eq = append(g.eq, sub.eq...)
			g.prefix = append(g.prefix, sub.prefix...)
			g.suffix = append(g.suffix, sub.suffix...)
			g.contains = append(g.contains, sub.contains...)
		}
		return path, g, path != ""
	case fn == operators.Equals && len(args) == 2:
		field = args[0]
		lits = stringLits(args[1])
		if lits == nil {
			field, lits = args[1], stringLits(args[0])
		}
		g.eq = lits
	case fn == operators.In && len(args) == 2:
		field, lits = args[0], stringLits(args[1])
		g.eq = lits
	case c.IsMemberFunction() && len(args) == 1 && (fn == "startsWith" || fn == "startsWithAny"):
		field, lits = c.Target(), stringLits(args[0])
		g.prefix = lits
	case c.IsMemberFunction() && len(args) == 1 && (fn == "endsWith" || fn == "endsWithAny"):
		field, lits = c.Target(), stringLits(args[0])
		g.suffix = lits
	case c.IsMemberFunction() && len(args) == 1 && (fn == "contains" || fn == "containsAny"):
		field, lits = c.Target(), stringLits(args[0])
		g.contains = lits
	default:
		return "", g, false
	}
	if lits == nil {
		return "", g, false
	}
	path, ok := fieldPath(field)
	if !ok || (want != "" && path != want) {
		return "", g, false
	}
	return path, g, true
}

// stringLits reads a string literal or a list of string literals; nil
// otherwise.
func stringLits(e ast.Expr) []string {
	return literals(e, func(s types.String) string { return string(s) })
}

// intLits reads an int literal or a list of int literals; nil otherwise.
func intLits(e ast.Expr) []int64 {
	return literals(e, func(n types.Int) int64 { return int64(n) })
}

// literals reads a literal of CEL type L, or a list of them, each as
// conv makes it; nil otherwise.
func literals[L types.String | types.Int, V any](e ast.Expr, conv func(L) V) []V {
	switch e.Kind() {
	case ast.LiteralKind:
		if l, ok := e.AsLiteral().(L); ok {
			return []V{conv(l)}
		}
	case ast.ListKind:
		out := []V{}
		for _, el := range e.AsList().Elements() {
			if el.Kind() != ast.LiteralKind {
				return nil
			}
			l, ok := el.AsLiteral().(L)
			if !ok {
				return nil
			}
			out = append(out, conv(l))
		}
		return out
	}
	return nil
}

// conjuncts flattens a && b && c.
func conjuncts(e ast.Expr) []ast.Expr {
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == operators.LogicalAnd {
		var out []ast.Expr
		for _, a := range e.AsCall().Args() {
			out = append(out, conjuncts(a)...)
		}
		return out
	}
	return []ast.Expr{e}
}

// guard is the conjunct chosen to index a check: the check is a
// candidate for an event when any alternative passes.
type guard struct {
	alts []guardAlt
}

// guardAlt tests one field: string equality, prefix or suffix, or integer
// equality.
type guardAlt struct {
	path string
	vals guardVals
	ints []int64
}

func (g *guard) rank() int {
	r := 0
	for _, a := range g.alts {
		switch {
		case len(a.vals.contains) > 0:
			r = max(r, 4) // a scan of the whole value per literal
		case len(a.vals.suffix) > 0:
			r = max(r, 3)
		case len(a.vals.prefix) > 0:
			r = max(r, 2)
		default:
			r = max(r, 1)
		}
	}
	return r*1000 + len(g.alts)
}

// paths names the fields the guard reads, for people.
func (g *guard) paths() string {
	var out []string
	for _, a := range g.alts {
		if !slices.Contains(out, a.path) {
			out = append(out, a.path)
		}
	}
	return strings.Join(out, ", ")
}

// pickGuard chooses the most selective indexable conjunct: equality
// before prefixes before suffixes, fewer alternatives first.
func (ce *celEnv) pickGuard(e ast.Expr) *guard {
	var best *guard
	for _, c := range conjuncts(e) {
		alts := ce.guardAlts(c)
		if alts == nil {
			continue
		}
		g := &guard{alts: alts}
		if best == nil || g.rank() < best.rank() {
			best = g
		}
	}
	return best
}

// guardAlts reads one conjunct as field tests joined by ||, or nil.
func (ce *celEnv) guardAlts(e ast.Expr) []guardAlt {
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == operators.LogicalOr {
		var out []guardAlt
		for _, a := range e.AsCall().Args() {
			sub := ce.guardAlts(a)
			if sub == nil {
				return nil
			}
			out = append(out, sub...)
		}
		return out
	}
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == operators.LogicalAnd {
		// a branch of a disjunction: any guard of its conjuncts will do
		if g := ce.pickGuard(e); g != nil {
			return g.alts
		}
		return nil
	}
	if path, vals, ok := stringTest(e, ""); ok && path != "kind" && ce.strGetter(path) != nil {
		return []guardAlt{{path: path, vals: vals}}
	}
	if path, prefix, ok := regexPrefix(e); ok && path != "kind" && ce.strGetter(path) != nil {
		return []guardAlt{{path: path, vals: guardVals{prefix: []string{prefix}}}}
	}
	if path, ints, ok := intTest(e); ok && ce.intGetter(path) != nil {
		return []guardAlt{{path: path, ints: ints}}
	}
	return nil
}

// intTest recognises `F == 3` and `F in [3, 4]`.
func intTest(e ast.Expr) (string, []int64, bool) {
	if e.Kind() != ast.CallKind {
		return "", nil, false
	}
	c := e.AsCall()
	args := c.Args()
	if len(args) != 2 || (c.FunctionName() != operators.Equals && c.FunctionName() != operators.In) {
		return "", nil, false
	}
	field, lits := args[0], intLits(args[1])
	if lits == nil && c.FunctionName() == operators.Equals {
		field, lits = args[1], intLits(args[0])
	}
	path, ok := fieldPath(field)
	return path, lits, ok && lits != nil
}

// trackPre is a `tracked("name", F)` conjunct, tested natively just
// before the condition: it cannot be an index guard, because the tracks
// the same event feeds are updated after the index is consulted.
type trackPre struct {
	track string
	get   func(*activation) string
}

// pickTrackPre finds such a conjunct.
func (ce *celEnv) pickTrackPre(e ast.Expr) *trackPre {
	for _, c := range conjuncts(e) {
		if c.Kind() != ast.CallKind || c.AsCall().FunctionName() != fnTracked || len(c.AsCall().Args()) != 2 {
			continue
		}
		args := c.AsCall().Args()
		name := stringLits(args[0])
		path, ok := fieldPath(args[1])
		if len(name) != 1 || !ok {
			continue
		}
		if get := ce.strGetter(path); get != nil {
			return &trackPre{track: name[0], get: get}
		}
	}
	return nil
}

// regexPrefix reads `F.matches("^lit…")` as the guard
// `F.startsWith("lit")`: a pattern anchored at the start of the text can
// only match a value that begins with the literal runes that follow the
// anchor. The index alone uses it (a guard must hold whenever the
// condition can, and this one does); the kernel's filters (kernelform.go)
// read stringTest, which leaves it out.
func regexPrefix(e ast.Expr) (string, string, bool) {
	if e.Kind() != ast.CallKind {
		return "", "", false
	}
	c := e.AsCall()
	if c.FunctionName() != "matches" || !c.IsMemberFunction() || len(c.Args()) != 1 ||
		c.Args()[0].Kind() != ast.LiteralKind {
		return "", "", false
	}
	pat, ok := c.Args()[0].AsLiteral().(types.String)
	if !ok {
		return "", "", false
	}
	prefix := anchoredPrefix(string(pat))
	path, ok := fieldPath(c.Target())
	return path, prefix, ok && prefix != ""
}

// anchoredPrefix is the literal every match of pattern starts with when
// the pattern is anchored at the start of the text (^ without the m flag,
// or \A), as RE2 (Go's regexp, which CEL's matches uses) parses it; ""
// otherwise. A case-folded literal or U+FFFD (which also stands for a
// byte that is not UTF-8) ends the prefix.
func anchoredPrefix(pattern string) string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return ""
	}
	var b strings.Builder
	for _, sub := range re.Sub[1:] {
		if sub.Op != syntax.OpLiteral || sub.Flags&syntax.FoldCase != 0 {
			break
		}
		for _, r := range sub.Rune {
			if r == utf8.RuneError {
				return b.String()
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}
