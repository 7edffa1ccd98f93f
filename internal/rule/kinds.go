package rule

import (
	"sort"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
)

// deriveKinds returns the kinds a condition can match, or nil for any.
func deriveKinds(e ast.Expr) []string {
	set, anyKind := kindSet(e)
	if anyKind {
		return nil
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func kindSet(e ast.Expr) (set map[string]bool, anyKind bool) {
	if e.Kind() != ast.CallKind {
		return nil, true
	}
	c := e.AsCall()
	switch c.FunctionName() {
	case operators.LogicalAnd:
		anyKind = true
		for _, a := range c.Args() {
			s, isAny := kindSet(a)
			if isAny {
				continue
			}
			if anyKind {
				set, anyKind = s, false
				continue
			}
			for k := range set {
				if !s[k] {
					delete(set, k)
				}
			}
		}
		return set, anyKind
	case operators.LogicalOr:
		set = map[string]bool{}
		for _, a := range c.Args() {
			s, isAny := kindSet(a)
			if isAny {
				return nil, true
			}
			for k := range s {
				set[k] = true
			}
		}
		return set, false
	}
	if path, vals, ok := stringTest(e, "kind"); ok && path == "kind" {
		set = map[string]bool{}
		for _, v := range vals.eq {
			set[v] = true
		}
		if len(vals.prefix)+len(vals.suffix)+len(vals.contains) == 0 {
			return set, false
		}
	}
	return nil, true
}
