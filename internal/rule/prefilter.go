package rule

import (
	"slices"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
)

// The pre-filter runs after the index and before CEL: it reads the parts
// of a condition that Go can decide from the event's fields alone (string
// and number comparisons with literals, prefixes, suffixes, substrings,
// regular expressions, flags, list and map membership, and the &&, || and
// ! that join them) and skips the check when they prove the condition
// false. Everything else (tracked(), comprehensions, map indexing,
// arithmetic, …) is unknown to it, so it can only ever skip a check whose
// CEL condition is false: it is three-valued, with CEL's own rules (false
// && anything is false, true || anything is true). A rule's result never
// depends on it; TestPrefilterIsSound and TestPrefilterIsExact hold it to
// that.

// tri is a three-valued truth: the pre-filter's verdict on a
// subexpression.
type tri uint8

const (
	triUnknown tri = iota
	triFalse
	triTrue
)

type pfOp uint8

const (
	pfTest pfOp = iota
	pfAnd
	pfOr
	pfNot
)

// pfNode is a subexpression the pre-filter can decide, at least in part.
type pfNode struct {
	op   pfOp
	kids []*pfNode
	// partial: some operands of an && or || are unknown, so that the
	// node cannot be true (&&) or false (||).
	partial bool
	test    func(*activation) bool // pfTest: exactly the CEL value
	cost    int                    // rough, to try cheap tests first
}

// eval decides the node for the activation's event.
func (n *pfNode) eval(a *activation) tri {
	switch n.op {
	case pfTest:
		if n.test(a) {
			return triTrue
		}
		return triFalse
	case pfNot:
		switch n.kids[0].eval(a) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triUnknown
	}
	// && stops at the first false, || at the first true; either is
	// decided only when every operand is known and none stopped it
	stop, pass := triFalse, triTrue
	if n.op == pfOr {
		stop, pass = triTrue, triFalse
	}
	all := !n.partial
	for _, k := range n.kids {
		switch k.eval(a) {
		case stop:
			return stop
		case triUnknown:
			all = false
		}
	}
	if all {
		return pass
	}
	return triUnknown
}

// prefilter builds the pre-filter of a checked condition; nil when no part
// of it can be decided natively.
func (ce *celEnv) prefilter(e ast.Expr) *pfNode {
	return (&pfBuilder{ce: ce}).node(e)
}

// pfBuilder builds pre-filters. bind holds the variables of the
// comprehensions it unrolls, each bound to one element of a literal list.
type pfBuilder struct {
	ce   *celEnv
	bind map[string]string
}

// node builds the pre-filter of e, or nil.
func (b *pfBuilder) node(e ast.Expr) *pfNode {
	if e.Kind() == ast.ComprehensionKind {
		return b.unroll(e.AsComprehension())
	}
	if e.Kind() != ast.CallKind {
		if get := b.boolGetter(e); get != nil {
			return &pfNode{test: get, cost: 1}
		}
		return nil
	}
	c := e.AsCall()
	switch fn := c.FunctionName(); fn {
	case operators.LogicalAnd, operators.LogicalOr:
		return b.junction(fn, c.Args())
	case operators.LogicalNot:
		if k := b.node(c.Args()[0]); k != nil {
			return &pfNode{op: pfNot, kids: []*pfNode{k}, cost: k.cost}
		}
		return nil
	case operators.NotEquals:
		if t, cost := b.test(operators.Equals, c); t != nil {
			return &pfNode{op: pfNot, kids: []*pfNode{{test: t, cost: cost}}, cost: cost}
		}
		return nil
	}
	if t, cost := b.test(c.FunctionName(), c); t != nil {
		return &pfNode{test: t, cost: cost}
	}
	return nil
}

// junction builds an && or || over args (nested ones flattened), cheapest
// operand first: the order changes the cost, never the verdict.
func (b *pfBuilder) junction(fn string, args []ast.Expr) *pfNode {
	n := &pfNode{op: pfAnd}
	if fn == operators.LogicalOr {
		n.op = pfOr
	}
	var flat []ast.Expr
	var walk func(e ast.Expr)
	walk = func(e ast.Expr) {
		if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == fn {
			for _, a := range e.AsCall().Args() {
				walk(a)
			}
			return
		}
		flat = append(flat, e)
	}
	for _, a := range args {
		walk(a)
	}
	for _, a := range flat {
		k := b.node(a)
		if k == nil {
			n.partial = true
			continue
		}
		n.kids = append(n.kids, k)
		n.cost += k.cost
	}
	switch {
	case len(n.kids) == 0:
		return nil
	case len(n.kids) == 1 && !n.partial:
		return n.kids[0]
	}
	slices.SortStableFunc(n.kids, func(x, y *pfNode) int { return x.cost - y.cost })
	return n
}

// unroll decides L.exists(v, P) and L.all(v, P) over a list L of string
// literals as P(l1) || P(l2) || … and P(l1) && P(l2) && …: CEL's exists
// and all are those, errors included (a true operand makes exists true,
// a false one makes all false, whatever the others' errors). Other
// comprehensions are unknown.
func (b *pfBuilder) unroll(c ast.ComprehensionExpr) *pfNode {
	lits := stringLits(c.IterRange())
	if c.IterRange().Kind() != ast.ListKind || lits == nil || c.HasIterVar2() || len(lits) > 64 {
		return nil
	}
	init, step, accu := c.AccuInit(), c.LoopStep(), c.AccuVar()
	if init.Kind() != ast.LiteralKind || step.Kind() != ast.CallKind || c.Result().Kind() != ast.IdentKind ||
		c.Result().AsIdent() != accu {
		return nil
	}
	start, ok := init.AsLiteral().(types.Bool)
	op := operators.LogicalOr // exists: false || P(l1) || …
	if start {
		op = operators.LogicalAnd // all: true && P(l1) && …
	}
	sc := step.AsCall()
	if !ok || sc.FunctionName() != op || len(sc.Args()) != 2 || sc.Args()[0].Kind() != ast.IdentKind ||
		sc.Args()[0].AsIdent() != accu || !stopsWhenDecided(c.LoopCondition(), accu, start) {
		return nil
	}
	n := &pfNode{op: pfAnd}
	if op == operators.LogicalOr {
		n.op = pfOr
	}
	for _, l := range lits {
		inner := &pfBuilder{ce: b.ce, bind: map[string]string{c.IterVar(): l}}
		for k, v := range b.bind {
			if k != c.IterVar() {
				inner.bind[k] = v
			}
		}
		k := inner.node(sc.Args()[1])
		if k == nil {
			n.partial = true
			continue
		}
		n.kids = append(n.kids, k)
		n.cost += k.cost
	}
	if len(n.kids) == 0 {
		return nil
	}
	return n
}

// stopsWhenDecided says cond is the loop condition CEL's exists (start
// false: @not_strictly_false(!accu)) or all (start true:
// @not_strictly_false(accu)) macro writes: it ends the loop only once
// the result is decided.
func stopsWhenDecided(cond ast.Expr, accu string, start types.Bool) bool {
	if cond.Kind() != ast.CallKind || cond.AsCall().FunctionName() != operators.NotStrictlyFalse ||
		len(cond.AsCall().Args()) != 1 {
		return false
	}
	arg := cond.AsCall().Args()[0]
	if !start {
		if arg.Kind() != ast.CallKind || arg.AsCall().FunctionName() != operators.LogicalNot {
			return false
		}
		arg = arg.AsCall().Args()[0]
	}
	return arg.Kind() == ast.IdentKind && arg.AsIdent() == accu
}
