package rule

import (
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"slices"

	"github.com/vigil-sec/vigil/internal/event"
)

// build indexes the compiled checks: tracks first, so that a rule sees
// the state its own event updated, then enabled rules in file order.
func (rs *Ruleset) build() {
	rs.checks = nil
	needed := rs.neededTracks()
	for _, t := range rs.tracks {
		if needed[t.name] {
			rs.checks = append(rs.checks, &check{track: t, kinds: t.kinds, guard: t.guard, filter: t.filter})
		}
	}
	for _, r := range rs.rules {
		if r.Enabled {
			rs.checks = append(rs.checks, &check{rule: r, kinds: kindNames(r.Kinds), guard: r.guard, filter: r.filter})
		}
	}
	rs.index()
}

// neededTracks are the tracks enabled rules query, directly or through
// other tracks: feeding the others would be wasted work.
func (rs *Ruleset) neededTracks() map[string]bool {
	needed := map[string]bool{}
	var need func(name string)
	need = func(name string) {
		if needed[name] {
			return
		}
		needed[name] = true
		for _, t := range rs.tracks {
			if t.name == name {
				for _, u := range t.uses {
					need(u)
				}
			}
		}
	}
	for _, r := range rs.rules {
		if r.Enabled {
			for _, name := range r.tracks {
				need(name)
			}
		}
	}
	return needed
}

// trackRefs lists the tracks an expression queries.
func trackRefs(e ast.Expr) []string {
	var out []string
	ast.PostOrderVisit(e, ast.NewExprVisitor(func(x ast.Expr) {
		if x.Kind() != ast.CallKind {
			return
		}
		c := x.AsCall()
		if (c.FunctionName() == fnTracked || c.FunctionName() == fnTrackedCount) && len(c.Args()) > 0 {
			if lits := stringLits(c.Args()[0]); len(lits) == 1 && !slices.Contains(out, lits[0]) {
				out = append(out, lits[0])
			}
		}
	}))
	return out
}

// index files each check under its kinds and guard.
func (rs *Ruleset) index() {
	n := len(rs.checks)
	rs.anyKind = &kindIndex{always: newBitset(n)}
	rs.byKind = map[event.Kind]*kindIndex{}
	for _, ch := range rs.checks {
		for _, k := range ch.kinds {
			if rs.byKind[event.Kind(k)] == nil {
				rs.byKind[event.Kind(k)] = &kindIndex{always: newBitset(n)}
			}
		}
	}
	for id, ch := range rs.checks {
		var targets []*kindIndex
		if ch.kinds == nil {
			targets = append(targets, rs.anyKind)
			for _, ki := range rs.byKind {
				targets = append(targets, ki)
			}
		} else {
			for _, k := range ch.kinds {
				targets = append(targets, rs.byKind[event.Kind(k)])
			}
		}
		for _, ki := range targets {
			if ch.guard == nil {
				ki.always.set(id)
				continue
			}
			for _, alt := range ch.guard.alts {
				ki.guardFor(alt, rs.env).add(int32(id), alt)
			}
		}
	}
}

func kindNames(ks []event.Kind) []string {
	if ks == nil {
		return nil
	}
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

func (k *kindIndex) guardFor(alt guardAlt, ce *celEnv) *guardIndex {
	for _, g := range k.guards {
		if g.path == alt.path {
			return g
		}
	}
	g := &guardIndex{path: alt.path, eq: map[string][]int32{}, intEq: map[int64][]int32{}}
	if g.get = ce.strGetter(alt.path); g.get == nil {
		g.getInt = ce.intGetter(alt.path)
	}
	g.args = ce.joinedArgs(alt.path)
	k.guards = append(k.guards, g)
	return g
}

// sizeEstimator bounds the sizes of event values for cost estimates:
// strings up to 4 KiB (argv in all), list elements 256 bytes, lists up to
// 1024 elements, the environment 64 variables; all of them scale times as
// large when scale is set.
type sizeEstimator struct{ scale uint64 }

func (se sizeEstimator) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	var s cost.SizeEstimate
	path := n.Path()
	switch n.Type().Kind() {
	case types.StringKind:
		s = cost.FixedSizeEstimate(4096)
		if len(path) > 0 && path[len(path)-1] == "@items" {
			// an element of argv, flags or caps: 4 KiB is the whole of
			// argv, so the typical element is far shorter
			s = cost.FixedSizeEstimate(256)
		}
	case types.ListKind, types.MapKind:
		s = cost.FixedSizeEstimate(1024)
		if len(path) > 0 && path[len(path)-1] == "env" {
			// process.env: the kernel lets out 64 variables at most
			// (sensor/process EnvVarsMax)
			s = cost.FixedSizeEstimate(64)
		}
	default:
		return nil
	}
	if se.scale > 1 {
		s = s.Multiply(cost.FixedSizeEstimate(se.scale))
	}
	return &s
}

func (sizeEstimator) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}
