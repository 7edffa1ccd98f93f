package rule

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"github.com/vigil-sec/vigil/internal/event"
)

// knownKinds are the event kinds a condition may test for, as the table of
// kinds says.
func knownKinds() []string {
	var out []string
	for _, row := range event.KindInfos() {
		if row.Rule {
			out = append(out, string(row.Kind))
		}
	}
	return out
}

// issue is a problem at a byte offset of an expression's text.
type issue struct {
	offset int
	msg    string
}

// names are the identifiers an expression may use besides the event's.
type names struct {
	lists, macros, tracks map[string]bool
}

// precheck finds what CEL's checker reports less helpfully: unknown
// fields and names (with the nearest valid one), unknown event kinds, and
// tracked() calls naming no track. It runs on the parsed expression,
// whose offsets still match the text.
func (ce *celEnv) precheck(parsed *cel.Ast, text string, n names) []issue {
	info := parsed.NativeRep().SourceInfo()
	at := func(id int64) int {
		r, _ := info.GetOffsetRange(id)
		return runeToByte(text, int(r.Start))
	}
	var out []issue
	walkScoped(parsed.NativeRep().Expr(), map[string]bool{}, func(e ast.Expr, scope map[string]bool) bool {
		switch e.Kind() {
		case ast.IdentKind:
			name := e.AsIdent()
			if _, isVar := ce.varIndex[name]; !isVar && !scope[name] && !n.lists[name] && !n.macros[name] {
				out = append(out, issue{at(e.ID()), fmt.Sprintf("unknown name %s%s", name, didYouMean(name, ce.topNames(n)))})
			}
		case ast.SelectKind:
			if iss, ok := ce.checkPath(e, scope, at); ok {
				out = append(out, iss...)
				return false
			}
		case ast.CallKind:
			out = append(out, checkCall(e.AsCall(), at, n)...)
		}
		return true
	})
	return out
}

func (ce *celEnv) topNames(n names) []string {
	var out []string
	for _, v := range ce.vars {
		out = append(out, v.name)
	}
	for _, m := range []map[string]bool{n.lists, n.macros} {
		for k := range m {
			out = append(out, k)
		}
	}
	return out
}

// checkPath checks a field path rooted at an event variable, such as
// process.container.id. ok is false when e is not such a path.
func (ce *celEnv) checkPath(e ast.Expr, scope map[string]bool, at func(int64) int) ([]issue, bool) {
	var fields []ast.Expr
	root := e
	for root.Kind() == ast.SelectKind {
		fields = append(fields, root)
		root = root.AsSelect().Operand()
	}
	if root.Kind() != ast.IdentKind || scope[root.AsIdent()] {
		return nil, false
	}
	i, ok := ce.varIndex[root.AsIdent()]
	if !ok {
		return nil, false
	}
	t := ce.vars[i].typ
	path := root.AsIdent()
	for k := len(fields) - 1; k >= 0; k-- {
		f := fields[k].AsSelect().FieldName()
		obj, isObj := ce.schema.byName[t.TypeName()]
		if !isObj {
			return nil, true // a map or list: CEL checks the rest
		}
		ft, found := obj.fields[f]
		if !found {
			bad := path + "." + f
			var cands []string
			for _, p := range ce.paths {
				if strings.Count(p, ".") == strings.Count(bad, ".") {
					cands = append(cands, p)
				}
			}
			return []issue{{at(fields[k].ID()) + 1, fmt.Sprintf("unknown field %s%s", bad, didYouMean(bad, cands))}}, true
		}
		t, path = ft.Type, path+"."+f
	}
	return nil, true
}

// checkCall validates kind literals and track names.
func checkCall(c ast.CallExpr, at func(int64) int, n names) []issue {
	var out []issue
	args := c.Args()
	switch c.FunctionName() {
	case operators.Equals, operators.NotEquals, operators.In:
		if len(args) != 2 || args[0].Kind() != ast.IdentKind || args[0].AsIdent() != "kind" {
			if len(args) == 2 && args[1].Kind() == ast.IdentKind && args[1].AsIdent() == "kind" {
				args = []ast.Expr{args[1], args[0]}
			} else {
				return nil
			}
		}
		var lits []ast.Expr
		if args[1].Kind() == ast.ListKind {
			lits = args[1].AsList().Elements()
		} else {
			lits = []ast.Expr{args[1]}
		}
		for _, l := range lits {
			if l.Kind() != ast.LiteralKind {
				continue
			}
			if s, ok := l.AsLiteral().(types.String); ok && !slices.Contains(knownKinds(), string(s)) {
				out = append(out, issue{at(l.ID()), fmt.Sprintf("unknown event kind %q%s", string(s), didYouMean(string(s), knownKinds()))})
			}
		}
	case fnTracked, fnTrackedCount:
		if len(args) == 0 {
			return nil
		}
		lit := args[0]
		if lit.Kind() != ast.LiteralKind {
			return []issue{{at(lit.ID()), c.FunctionName() + ": the first argument must be a track's name in quotes"}}
		}
		if s, ok := lit.AsLiteral().(types.String); ok && !n.tracks[string(s)] {
			var known []string
			for k := range n.tracks {
				known = append(known, k)
			}
			out = append(out, issue{at(lit.ID()), fmt.Sprintf("no track named %q%s", string(s), didYouMean(string(s), known))})
		}
	}
	return out
}

// runeToByte converts a code point offset, as CEL reports them, to a byte
// offset in s.
func runeToByte(s string, runes int) int {
	b := 0
	for i := 0; i < runes && b < len(s); i++ {
		_, size := utf8.DecodeRuneInString(s[b:])
		b += size
	}
	return b
}
