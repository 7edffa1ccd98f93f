package rule

import (
	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
)

// inliner replaces references to lists and macros with copies of their
// checked expressions, so that a compiled condition refers only to the
// event. Unlike cel-go's inlining optimizer it never introduces cel.bind:
// a macro used twice is simply expanded twice, which keeps evaluation
// free of extra scopes.
type inliner struct {
	defs map[string]*cel.Ast
}

// Optimize implements cel.ASTOptimizer.
func (in *inliner) Optimize(ctx *cel.OptimizerContext, a *ast.AST) *ast.AST {
	root := ast.NavigateAST(a)
	matches := ast.MatchDescendants(root, func(e ast.NavigableExpr) bool {
		if e.Kind() != ast.IdentKind {
			return false
		}
		name := e.AsIdent()
		if _, ok := in.defs[name]; !ok {
			return false
		}
		return !shadowed(e, name)
	})
	for _, m := range matches {
		ctx.UpdateExpr(m, ctx.CopyASTAndMetadata(in.defs[m.AsIdent()].NativeRep()))
	}
	return a
}

// shadowed says whether a comprehension around e binds name.
func shadowed(e ast.NavigableExpr, name string) bool {
	for p, ok := e.Parent(); ok; p, ok = p.Parent() {
		if p.Kind() != ast.ComprehensionKind {
			continue
		}
		c := p.AsComprehension()
		if c.IterVar() == name || c.AccuVar() == name || (c.HasIterVar2() && c.IterVar2() == name) {
			return true
		}
	}
	return false
}

// identsIn lists the free identifiers an expression names.
func identsIn(e ast.Expr) []string {
	var out []string
	seen := map[string]bool{}
	walkScoped(e, map[string]bool{}, func(e ast.Expr, scope map[string]bool) bool {
		if e.Kind() == ast.IdentKind {
			if n := e.AsIdent(); !scope[n] && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
		return true
	})
	return out
}

// walkScoped calls visit on e and, as long as visit returns true for an
// expression, on every expression below it, each with the names in scope
// there: scope and the variables of the comprehensions around it.
func walkScoped(e ast.Expr, scope map[string]bool, visit func(e ast.Expr, scope map[string]bool) bool) {
	if !visit(e, scope) {
		return
	}
	switch e.Kind() {
	case ast.SelectKind:
		walkScoped(e.AsSelect().Operand(), scope, visit)
	case ast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() {
			walkScoped(c.Target(), scope, visit)
		}
		for _, a := range c.Args() {
			walkScoped(a, scope, visit)
		}
	case ast.ListKind:
		for _, el := range e.AsList().Elements() {
			walkScoped(el, scope, visit)
		}
	case ast.MapKind:
		for _, en := range e.AsMap().Entries() {
			walkScoped(en.AsMapEntry().Key(), scope, visit)
			walkScoped(en.AsMapEntry().Value(), scope, visit)
		}
	case ast.ComprehensionKind:
		c := e.AsComprehension()
		walkScoped(c.IterRange(), scope, visit)
		walkScoped(c.AccuInit(), scope, visit)
		inner := map[string]bool{c.IterVar(): true, c.AccuVar(): true}
		if c.HasIterVar2() {
			inner[c.IterVar2()] = true
		}
		for k := range scope {
			inner[k] = true
		}
		walkScoped(c.LoopCondition(), inner, visit)
		walkScoped(c.LoopStep(), inner, visit)
		walkScoped(c.Result(), inner, visit)
	}
}
