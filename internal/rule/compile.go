package rule

import (
	"fmt"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"

	"github.com/vigil-sec/vigil/internal/event"
)

// costLimits bound what one rule may cost.
type costLimits struct {
	// static bounds the estimated worst-case cost of a rule's condition
	// and its exceptions together (a match pays for both), and of each
	// track expression and message hole, with strings and lists as large
	// as the sensors ever make them. It rejects conditions such as
	// nested loops over argv that could stall the pipeline; every rule of
	// the default pack is far below it.
	static uint64
	// runtime bounds the actual cost of one evaluation of one program:
	// an evaluation that exceeds it is stopped and counted as an error
	// (no match), should an event be larger than the estimate assumed.
	// 0 tracks no cost at run time (benchmarks compare against it).
	runtime uint64
}

// defaultCostLimits are the limits Compile applies.
func defaultCostLimits() costLimits {
	return costLimits{static: 5_000_000, runtime: 5_000_000}
}

// compiler turns merged definitions into programs.
type compiler struct {
	ce   *celEnv
	d    *defs
	env  *cel.Env // ce.env plus lists and macros
	errs Errors
	// expanded maps list and macro names to their checked expressions.
	expanded map[string]*cel.Ast
	names    names
	limits   costLimits
}

// Compile parses, merges and compiles rule files, in the order given. It
// reports every problem it finds as Errors.
func Compile(sources []Source) (*Ruleset, error) {
	return compile(sources, defaultCostLimits())
}

func compile(sources []Source, limits costLimits) (*Ruleset, error) {
	d, errs := collect(sources)
	ce, err := newCELEnv()
	if err != nil {
		return nil, fmt.Errorf("rule environment: %w", err)
	}
	c := &compiler{ce: ce, d: d, errs: errs, expanded: map[string]*cel.Ast{}, limits: limits,
		names: names{lists: map[string]bool{}, macros: map[string]bool{}, tracks: map[string]bool{}}}
	if err := c.declare(); err != nil {
		return nil, err
	}
	c.compileLists()
	c.compileMacros()
	rs := &Ruleset{env: ce, Warnings: d.warns, costLimit: limits.runtime}
	for _, t := range d.tracks {
		if tr := c.compileTrack(t); tr != nil {
			rs.tracks = append(rs.tracks, tr)
		}
	}
	for _, r := range d.rules {
		if cr := c.compileRule(r); cr != nil {
			rs.rules = append(rs.rules, cr)
		}
	}
	if len(c.errs) > 0 {
		return nil, c.errs.sorted()
	}
	rs.build()
	for _, r := range rs.rules {
		if r.Enabled && r.Kinds == nil {
			rs.Warnings = append(rs.Warnings, errAt(r.at, "rule "+r.Name, "condition",
				"no event kind can be derived (add kind == \"…\" or kind in […]): it is evaluated for every event"))
		}
	}
	rs.Warnings = rs.Warnings.sorted()
	return rs, nil
}

// declare builds the environment in which conditions are checked: lists
// as typed variables, macros as booleans; both are inlined afterwards.
func (c *compiler) declare() error {
	var opts []cel.EnvOption
	for _, l := range c.d.lists {
		t := cel.ListType(cel.StringType)
		if len(l.items) > 0 && l.items[0].isInt {
			t = cel.ListType(cel.IntType)
		}
		if _, clash := c.ce.varIndex[l.name]; clash {
			c.errs = append(c.errs, errAt(l.at, "list "+l.name, "", "%s is an event field; pick another name", l.name))
			continue
		}
		opts = append(opts, cel.Variable(l.name, t))
		c.names.lists[l.name] = true
	}
	for _, m := range c.d.macros {
		if _, clash := c.ce.varIndex[m.name]; clash || c.names.lists[m.name] {
			c.errs = append(c.errs, errAt(m.at, "macro "+m.name, "", "the name %s is already an event field or a list", m.name))
			continue
		}
		opts = append(opts, cel.Variable(m.name, cel.BoolType))
		c.names.macros[m.name] = true
	}
	for _, t := range c.d.tracks {
		c.names.tracks[t.name] = true
	}
	env, err := c.ce.env.Extend(opts...)
	if err != nil {
		return fmt.Errorf("declare lists and macros: %w", err)
	}
	c.env = env
	return nil
}

func (c *compiler) compileLists() {
	for _, l := range c.d.lists {
		if !c.names.lists[l.name] {
			continue
		}
		parts := make([]string, len(l.items))
		for i, it := range l.items {
			if it.isInt {
				parts[i] = it.val
			} else {
				parts[i] = strconv.Quote(it.val)
			}
		}
		a, iss := c.ce.env.Compile("[" + strings.Join(parts, ", ") + "]")
		if iss.Err() != nil {
			c.errs = append(c.errs, errAt(l.at, "list "+l.name, "items", "%v", iss.Err()))
			continue
		}
		c.expanded[l.name] = a
	}
}

// compileMacros checks macros in dependency order, each one expanded
// over the macros it uses.
func (c *compiler) compileMacros() {
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(m *macroDef, chain []string)
	visit = func(m *macroDef, chain []string) {
		switch state[m.name] {
		case 2:
			return
		case 1:
			c.errs = append(c.errs, errAt(m.at, "macro "+m.name, "condition", "macros refer to each other in a cycle: %s",
				strings.Join(append(chain, m.name), " → ")))
			return
		}
		state[m.name] = 1
		if parsed, iss := c.env.Parse(m.cond.s); iss.Err() == nil {
			for _, name := range identsIn(parsed.NativeRep().Expr()) {
				if dep := c.d.macro(name); dep != nil && c.names.macros[name] {
					visit(dep, append(chain, m.name))
				}
			}
		}
		state[m.name] = 2
		if a := c.compileExpr(m.cond, "macro "+m.name, "condition", cel.BoolType); a != nil {
			c.expanded[m.name] = a
		}
	}
	for _, m := range c.d.macros {
		if c.names.macros[m.name] {
			visit(m, nil)
		}
	}
}

// compileExpr parses, prechecks, checks and expands one expression; want
// is its required type (nil for any). Problems become errors at their
// position in the file.
func (c *compiler) compileExpr(t srcText, entry, field string, want *cel.Type) *cel.Ast {
	before := len(c.errs)
	defer func() {
		if len(c.errs) > before && field == "condition" {
			c.errs[before].Msg += falcoConditionHint(t.s)
		}
	}()
	fail := func(offset int, format string, args ...any) *cel.Ast {
		c.errs = append(c.errs, errAt(t.posAt(offset), entry, field, format, args...))
		return nil
	}
	parsed, iss := c.env.Parse(t.s)
	if iss.Err() != nil {
		return c.celIssues(t, entry, field, iss)
	}
	if pre := c.ce.precheck(parsed, t.s, c.names); len(pre) > 0 {
		for _, p := range pre {
			fail(p.offset, "%s", p.msg)
		}
		return nil
	}
	checked, iss := c.env.Check(parsed)
	if iss.Err() != nil {
		return c.celIssues(t, entry, field, iss)
	}
	if want != nil && !checked.OutputType().IsExactType(want) {
		return fail(0, "is %s, want %s", typeLabel(checked.OutputType()), typeLabel(want))
	}
	for _, name := range identsIn(checked.NativeRep().Expr()) {
		if _, ok := c.expanded[name]; !ok && (c.names.lists[name] || c.names.macros[name]) {
			return fail(0, "uses %s, which has errors of its own", name)
		}
	}
	expanded, err := c.expand(checked)
	if err != nil {
		return fail(0, "expand lists and macros: %v", err)
	}
	return expanded
}

// expand inlines the lists and macros a checked expression uses.
func (c *compiler) expand(checked *cel.Ast) (*cel.Ast, error) {
	opt, err := cel.NewStaticOptimizer(&inliner{defs: c.expanded})
	if err != nil {
		return nil, err
	}
	expanded, iss := opt.Optimize(c.env, checked)
	return expanded, iss.Err()
}

// celIssues turns CEL's errors into file positions.
func (c *compiler) celIssues(t srcText, entry, field string, iss *cel.Issues) *cel.Ast {
	for _, e := range iss.Errors() {
		offset := lineColToByte(t.s, e.Location.Line(), e.Location.Column())
		msg := strings.ReplaceAll(e.Message, "vigil.", "")
		if strings.Contains(msg, "reserved identifier: namespace") {
			msg += " (CEL reserves the word: a namespace_change's object is ns, as in ns.types)"
		}
		c.errs = append(c.errs, errAt(t.posAt(offset), entry, field, "%s", msg))
	}
	return nil
}

// lineColToByte converts CEL's 1-based line and 0-based code point column
// to a byte offset in s.
func lineColToByte(s string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(s[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	return off + runeToByte(s[off:], col)
}

// program plans an expanded expression, after bounding its cost; problems
// are errors at the start of t.
func (c *compiler) program(a *cel.Ast, t srcText, entry, field string) *program {
	prg, cost, err := c.plan(a, c.limits.static)
	switch {
	case cost > c.limits.static:
		c.errs = append(c.errs, errAt(t.start(), entry, field,
			"too expensive: worst case %d exceeds %d (avoid nested loops over lists such as process.args)", cost, c.limits.static))
	case err != nil:
		c.errs = append(c.errs, errAt(t.start(), entry, field, "%v", err))
	}
	return prg
}

// plan estimates a's worst-case cost and plans it if that is within
// budget; prg is nil when it is not, or on err. The program runs under
// the runtime cost limit unless its estimate stays within that limit even
// for events whose every string and list is boundScale times as large as
// the sensors make them: such a program cannot reach the limit on any
// event the agent can see, and the tracker would only cost time (a third
// of a rule's evaluation, docs/benchmarks.md). Loops over event lists
// (exists, all, map, filter over process.args…) grow with the list and
// keep the tracker.
func (c *compiler) plan(a *cel.Ast, budget uint64) (prg *program, cost uint64, err error) {
	if est, err := c.env.EstimateCost(a, sizeEstimator{}); err == nil {
		if cost = est.Max; cost > budget {
			return nil, cost, nil
		}
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	tracked := c.limits.runtime > 0 && !c.bounded(a)
	if tracked {
		opts = append(opts, cel.CostLimit(c.limits.runtime))
	}
	p, err := c.env.Program(a, opts...)
	if err != nil {
		return nil, cost, err
	}
	return &program{Program: p, tracked: tracked}, cost, nil
}

// boundScale is how much larger than the sensors make them the strings
// and lists of an event may be for a program to run without the runtime
// cost limit (see plan).
const boundScale = 1 << 10

// bounded says a's worst case stays within the runtime cost limit for
// events boundScale times as large as the sensors make them.
func (c *compiler) bounded(a *cel.Ast) bool {
	est, err := c.env.EstimateCost(a, sizeEstimator{scale: boundScale})
	return err == nil && est.Max <= c.limits.runtime
}

func (c *compiler) compileTrack(t *trackDef) *trackSpec {
	entry := "track " + t.name
	cond := c.compileExpr(t.cond, entry, "condition", cel.BoolType)
	key := c.compileExpr(t.key, entry, "key", cel.StringType)
	var val *cel.Ast
	if t.hasValue {
		val = c.compileExpr(t.value, entry, "value", cel.StringType)
	}
	if cond == nil || key == nil || (t.hasValue && val == nil) {
		return nil
	}
	spec := &trackSpec{name: t.name, window: t.window, maxKeys: t.maxKeys, uses: trackRefs(cond.NativeRep().Expr()),
		kinds: deriveKinds(cond.NativeRep().Expr()), guard: c.ce.pickGuard(cond.NativeRep().Expr()),
		filter: c.ce.prefilter(cond.NativeRep().Expr()),
		cond:   c.program(cond, t.cond, entry, "condition"), key: c.program(key, t.key, entry, "key")}
	if val != nil {
		spec.value = c.program(val, t.value, entry, "value")
	}
	if spec.cond == nil || spec.key == nil || (val != nil && spec.value == nil) {
		return nil
	}
	return spec
}

func (c *compiler) compileRule(r *ruleDef) *Rule {
	entry := "rule " + r.name
	cr := &Rule{Name: r.name, Description: r.description, Severity: r.severity, Action: r.action,
		Enabled: r.enabled, Tags: r.tags, Scope: r.scope, at: r.at, Source: fmt.Sprintf("%s:%d", r.at.file, r.at.line)}
	for _, t := range r.tags {
		if event.IsMITRE(t) {
			cr.MITRE = append(cr.MITRE, t)
		}
	}
	cond := c.compileExpr(r.cond, entry, "condition", cel.BoolType)
	except := c.compileExceptions(r, entry)
	cr.message = literalTemplate(r.description)
	if r.hasMessage {
		cr.message = c.compileTemplate(r.message, entry)
	}
	if cond == nil {
		return nil
	}
	expr := cond.NativeRep().Expr()
	cr.Kinds = kindsOf(deriveKinds(expr))
	if cr.Kinds != nil && len(cr.Kinds) == 0 {
		c.errs = append(c.errs, errAt(r.cond.start(), entry, "condition", "can never match: its kind tests exclude each other"))
		return nil
	}
	if cr.Action != ActionAlert {
		cr.kernel, cr.userspaceWhy = enforcementForm(cr.Action, expr, cr.Kinds, except != nil, len(trackRefs(expr)) > 0)
		if cr.kernel != nil && cr.Scope != nil {
			// the kernel's deny tables know cgroups, not pods: a scoped rule
			// in the kernel would act on every pod and on the host
			cr.kernel, cr.userspaceWhy = nil, "a scope is decided in user space"
		}
		if cr.Action == ActionDeny && cr.kernel == nil {
			c.errs = append(c.errs, errAt(r.cond.start(), entry, "action",
				"deny happens in the kernel before the call returns, and the kernel cannot decide this rule: %s; use action: kill, or keep the condition to kind == \"net_connect\" with network.daddr, network.dport and network.protocol", cr.userspaceWhy))
		}
	}
	cr.guard = c.ce.pickGuard(expr)
	cr.filter = c.ce.prefilter(expr)
	cr.tracks = trackRefs(expr)
	cr.pre = c.ce.pickTrackPre(expr)
	if cr.prog = c.program(cond, r.cond, entry, "condition"); cr.prog == nil {
		return nil
	}
	if except != nil && !c.planExceptions(cr, cond, except, r, entry) {
		return nil
	}
	cr.ref = event.RuleRef{Name: cr.Name, Severity: cr.Severity, Tags: cr.Tags, MITRE: cr.MITRE}
	return cr
}

// planExceptions plans a rule's exceptions. A match pays for the
// condition and the exceptions, so they share the rule's budget.
func (c *compiler) planExceptions(cr *Rule, cond, except *cel.Ast, r *ruleDef, entry string) bool {
	var condCost uint64
	if est, err := c.env.EstimateCost(cond, sizeEstimator{}); err == nil {
		condCost = est.Max
	}
	budget := c.limits.static - min(condCost, c.limits.static)
	prg, cost, err := c.plan(except, budget)
	switch {
	case cost > budget:
		c.errs = append(c.errs, errAt(r.exceptions[0].at, entry, "exceptions",
			"too expensive: worst case %d, with the condition's %d, exceeds %d (fewer rows, or cheaper comparisons: =, in, startswith and endswith cost least)",
			cost, condCost, c.limits.static))
		return false
	case err != nil:
		c.errs = append(c.errs, errAt(r.exceptions[0].at, entry, "exceptions", "%v", err))
		return false
	}
	cr.except = prg
	return true
}

func kindsOf(ks []string) []event.Kind {
	if ks == nil {
		return nil
	}
	out := make([]event.Kind, len(ks))
	for i, k := range ks {
		out[i] = event.Kind(k)
	}
	return out
}
