package rule

// The pre-filter's leaves: comparisons of event fields with literals, each
// decided in Go exactly as CEL would decide it (prefilter.go joins them).

import (
	"path"
	"regexp"
	"slices"
	"strings"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
)

// test builds one comparison of a field with literals, exactly as CEL
// would decide it, or returns nil.
func (b *pfBuilder) test(fn string, c ast.CallExpr) (func(*activation) bool, int) {
	args := c.Args()
	if c.IsMemberFunction() {
		if len(args) != 1 {
			return nil, 0
		}
		return b.memberTest(fn, c.Target(), args[0])
	}
	if len(args) != 2 {
		return nil, 0
	}
	x, y := args[0], args[1]
	switch fn {
	case operators.Equals:
		if s, ok := b.strLit(y); ok {
			if get := b.strOperand(x); get != nil {
				return func(a *activation) bool { return get(a) == s }, 2
			}
		}
		if s, ok := b.strLit(x); ok {
			if get := b.strOperand(y); get != nil {
				return func(a *activation) bool { return get(a) == s }, 2
			}
		}
		if n := intLits(y); len(n) == 1 && y.Kind() == ast.LiteralKind {
			if get := b.intOperand(x); get != nil {
				return func(a *activation) bool { return get(a) == n[0] }, 1
			}
		}
		if n := intLits(x); len(n) == 1 && x.Kind() == ast.LiteralKind {
			if get := b.intOperand(y); get != nil {
				return func(a *activation) bool { return get(a) == n[0] }, 1
			}
		}
	case operators.In:
		return b.inTest(x, y)
	case fnTracked:
		// what tracked() answers (trackFuncs), from the same state: the
		// pre-filter runs just before the condition would
		name, ok := b.strLit(x)
		get := b.strOperand(y)
		if !ok || get == nil {
			return nil, 0
		}
		return func(a *activation) bool {
			t := a.tables[name]
			return t != nil && t.has(get(a), a.ev.Time)
		}, 6
	case operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals:
		return b.orderTest(fn, x, y)
	}
	return nil, 0
}

// inTest builds `F in [literals]`, `"lit" in list field` and `"lit" in
// map field`.
func (b *pfBuilder) inTest(x, y ast.Expr) (func(*activation) bool, int) {
	if y.Kind() == ast.ListKind {
		if lits := stringLits(y); lits != nil {
			if get := b.strOperand(x); get != nil {
				set := make(map[string]struct{}, len(lits))
				for _, l := range lits {
					set[l] = struct{}{}
				}
				return func(a *activation) bool { _, ok := set[get(a)]; return ok }, 3
			}
		}
		if lits := intLits(y); lits != nil {
			if get := b.intOperand(x); get != nil {
				return func(a *activation) bool { return slices.Contains(lits, get(a)) }, 1 + len(lits)/8
			}
		}
		return nil, 0
	}
	s, ok := b.strLit(x)
	if !ok {
		return nil, 0
	}
	if get := b.listGetter(y); get != nil {
		return func(a *activation) bool { return slices.Contains(get(a), s) }, 4
	}
	if get := b.mapGetter(y); get != nil {
		return func(a *activation) bool { _, ok := get(a)[s]; return ok }, 3
	}
	return nil, 0
}

// orderTest builds F < n, F <= n, F > n, F >= n (either way round).
func (b *pfBuilder) orderTest(fn string, x, y ast.Expr) (func(*activation) bool, int) {
	if y.Kind() != ast.LiteralKind {
		x, y = y, x
		switch fn { // n < F is F > n
		case operators.Less:
			fn = operators.Greater
		case operators.LessEquals:
			fn = operators.GreaterEquals
		case operators.Greater:
			fn = operators.Less
		default:
			fn = operators.LessEquals
		}
	}
	n := intLits(y)
	get := b.intOperand(x)
	if len(n) != 1 || y.Kind() != ast.LiteralKind || get == nil {
		return nil, 0
	}
	v := n[0]
	switch fn {
	case operators.Less:
		return func(a *activation) bool { return get(a) < v }, 1
	case operators.LessEquals:
		return func(a *activation) bool { return get(a) <= v }, 1
	case operators.Greater:
		return func(a *activation) bool { return get(a) > v }, 1
	}
	return func(a *activation) bool { return get(a) >= v }, 1
}

// strPred is the Go equivalent of a string method (or of vigil's list
// form of it), or nil.
func strPred(fn string) func(s, lit string) bool {
	switch fn {
	case "startsWith", "startsWithAny":
		return strings.HasPrefix
	case "endsWith", "endsWithAny":
		return strings.HasSuffix
	case "contains", "containsAny":
		return strings.Contains
	}
	return nil
}

// listPred is the test one element and one literal must pass for one of
// vigil's functions over string lists to be true, or nil.
func listPred(fn string) func(s, lit string) bool {
	switch fn {
	case "hasAny":
		return func(s, lit string) bool { return s == lit }
	case "anyStartsWith":
		return strings.HasPrefix
	case "anyEndsWith":
		return strings.HasSuffix
	case "anyContains":
		return strings.Contains
	}
	return nil
}

// memberTest builds F.startsWith("x") and its kin, F.matches("re"),
// F.hasBits(n), F.anyBits(n) and list.hasAny([…]) and its kin.
func (b *pfBuilder) memberTest(fn string, target, arg ast.Expr) (func(*activation) bool, int) {
	if pred := strPred(fn); pred != nil {
		lits := stringLits(arg)
		get := b.strOperand(target)
		if lits == nil || get == nil || (arg.Kind() == ast.ListKind) != strings.HasSuffix(fn, "Any") {
			return nil, 0
		}
		if t := b.argvTest(fn, target, lits); t != nil {
			return t, 3 + len(lits)
		}
		return func(a *activation) bool {
			s := get(a)
			for _, l := range lits {
				if pred(s, l) {
					return true
				}
			}
			return false
		}, 3 + len(lits)
	}
	if pred := listPred(fn); pred != nil {
		lits := stringLits(arg)
		get := b.listGetter(target)
		if lits == nil || get == nil || arg.Kind() != ast.ListKind {
			return nil, 0
		}
		return func(a *activation) bool {
			for _, s := range get(a) {
				for _, l := range lits {
					if pred(s, l) {
						return true
					}
				}
			}
			return false
		}, 4 + len(lits)
	}
	switch fn {
	case "matches":
		pat, ok := b.strLit(arg)
		get := b.strOperand(target)
		if !ok || get == nil {
			return nil, 0
		}
		re, err := regexp.Compile(pat) // as cel-go compiles a constant pattern
		if err != nil {
			return nil, 0
		}
		return func(a *activation) bool { return re.MatchString(get(a)) }, 30
	case "hasBits", "anyBits":
		n := intLits(arg)
		get := b.intOperand(target)
		if len(n) != 1 || arg.Kind() != ast.LiteralKind || get == nil {
			return nil, 0
		}
		mask := n[0]
		if fn == "hasBits" {
			return func(a *activation) bool { return get(a)&mask == mask }, 1
		}
		return func(a *activation) bool { return get(a)&mask != 0 }, 1
	}
	return nil, 0
}

// argvTest decides process.cmdline.contains(lit) and containsAny over
// literals without spaces on argv, unjoined (argvContains); nil for
// anything else.
func (b *pfBuilder) argvTest(fn string, target ast.Expr, lits []string) func(*activation) bool {
	p, ok := b.path(target)
	if !ok || (fn != "contains" && fn != "containsAny") || slices.ContainsFunc(lits, func(l string) bool { return !spaceFree(l) }) {
		return nil
	}
	args := b.ce.joinedArgs(p)
	if args == nil {
		return nil
	}
	return func(a *activation) bool {
		argv := args(a)
		for _, l := range lits {
			if argvContains(argv, l) {
				return true
			}
		}
		return false
	}
}

// strLit reads one string literal, or a variable bound to one.
func (b *pfBuilder) strLit(e ast.Expr) (string, bool) {
	if e.Kind() == ast.IdentKind {
		s, ok := b.bind[e.AsIdent()]
		return s, ok
	}
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

// strOperand reads a string: a literal, a field, kind, node, basename or
// dirname of a string, X.split("sep")[0], or X + Y.
func (b *pfBuilder) strOperand(e ast.Expr) func(*activation) string {
	if s, ok := b.strLit(e); ok {
		return func(*activation) string { return s }
	}
	if e.Kind() == ast.CallKind {
		c := e.AsCall()
		if get := b.firstPart(c); get != nil {
			return get
		}
		if get := b.concat(c); get != nil {
			return get
		}
		if c.IsMemberFunction() || len(c.Args()) != 1 {
			return nil
		}
		var f func(string) string
		switch c.FunctionName() {
		case "basename":
			f = path.Base
		case "dirname":
			f = path.Dir
		default:
			return nil
		}
		if get := b.strOperand(c.Args()[0]); get != nil {
			return func(a *activation) string { return f(get(a)) }
		}
		return nil
	}
	p, ok := b.path(e)
	if !ok {
		return nil
	}
	switch p {
	case "kind":
		return func(a *activation) string { return string(a.ev.Kind) }
	case "node":
		return func(a *activation) string { return a.ev.Node }
	}
	return b.ce.strGetter(p)
}

// firstPart reads X.split("sep")[0], X a string operand and sep not
// empty (so that the split has a first element), as what precedes the
// first sep in X; nil for anything else.
func (b *pfBuilder) firstPart(c ast.CallExpr) func(*activation) string {
	args := c.Args()
	if c.FunctionName() != operators.Index || len(args) != 2 || args[0].Kind() != ast.CallKind {
		return nil
	}
	if n := intLits(args[1]); len(n) != 1 || n[0] != 0 || args[1].Kind() != ast.LiteralKind {
		return nil
	}
	split := args[0].AsCall()
	if split.FunctionName() != "split" || !split.IsMemberFunction() || len(split.Args()) != 1 {
		return nil
	}
	sep, ok := b.strLit(split.Args()[0])
	get := b.strOperand(split.Target())
	if !ok || sep == "" || get == nil {
		return nil
	}
	return func(a *activation) string {
		s := get(a)
		if i := strings.Index(s, sep); i >= 0 {
			return s[:i]
		}
		return s
	}
}

// concat reads X + Y, both strings.
func (b *pfBuilder) concat(c ast.CallExpr) func(*activation) string {
	if c.FunctionName() != operators.Add || len(c.Args()) != 2 {
		return nil
	}
	x, y := b.strOperand(c.Args()[0]), b.strOperand(c.Args()[1])
	if x == nil || y == nil {
		return nil
	}
	return func(a *activation) string { return x(a) + y(a) }
}

// intOperand reads an int field.
func (b *pfBuilder) intOperand(e ast.Expr) func(*activation) int64 {
	if p, ok := b.path(e); ok {
		return b.ce.intGetter(p)
	}
	return nil
}

// boolGetter reads a bool field, or is nil.
func (b *pfBuilder) boolGetter(e ast.Expr) func(*activation) bool {
	if p, ok := b.path(e); ok {
		return fieldGetter(b.ce, p, func(t *objType) map[string]func(any) bool { return t.bools })
	}
	return nil
}

// listGetter reads a string list field, or is nil.
func (b *pfBuilder) listGetter(e ast.Expr) func(*activation) []string {
	if p, ok := b.path(e); ok {
		return fieldGetter(b.ce, p, func(t *objType) map[string]func(any) []string { return t.lists })
	}
	return nil
}

// mapGetter reads a string-to-string map field, or is nil.
func (b *pfBuilder) mapGetter(e ast.Expr) func(*activation) map[string]string {
	if p, ok := b.path(e); ok {
		return fieldGetter(b.ce, p, func(t *objType) map[string]func(any) map[string]string { return t.maps })
	}
	return nil
}

// path renders a field path (see fieldPath), unless it starts at a
// comprehension's variable.
func (b *pfBuilder) path(e ast.Expr) (string, bool) {
	p, ok := fieldPath(e)
	if !ok {
		return "", false
	}
	if _, bound := b.bind[splitPath(p)[0]]; bound {
		return "", false
	}
	return p, true
}
