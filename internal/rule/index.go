package rule

import (
	"math/bits"
	"slices"
	"strings"
)

// The index decides which checks (tracks and rules) an event meets. Level
// one is the event kind, derived from `kind == …` / `kind in […]`
// conjuncts. Level two is a guard: one top-level conjunct that tests a
// string field for equality, a prefix, a suffix or a substring, or a
// number for equality (`process.name in shells`,
// `file.path.startsWith("/etc/")`). The guard is evaluated natively
// against hash maps, byte tries or strings.Contains; CEL runs only for the
// checks whose guard the event passes, so the cost of an event grows with
// the rules that could match it, not with the size of the rule set.

// fieldReader walks a field path to the object holding its last field,
// without allocating; nil if the path does not exist.
func (ce *celEnv) fieldReader(path string) (func(*activation) any, *objType, string) {
	parts := splitPath(path)
	i, ok := ce.varIndex[parts[0]]
	if !ok || len(parts) < 2 {
		return nil, nil, ""
	}
	root := ce.vars[i].get
	t, ok := ce.schema.byName[ce.vars[i].typ.TypeName()]
	if !ok {
		return nil, nil, ""
	}
	var hops []func(any) (any, error)
	for _, f := range parts[1 : len(parts)-1] {
		ft, ok := t.fields[f]
		if !ok {
			return nil, nil, ""
		}
		if t, ok = ce.schema.byName[ft.Type.TypeName()]; !ok {
			return nil, nil, ""
		}
		hops = append(hops, ft.GetFrom)
	}
	return func(a *activation) any {
		obj := root(a)
		for _, h := range hops {
			obj, _ = h(obj)
		}
		return obj
	}, t, parts[len(parts)-1]
}

// strGetter reads a string field path, or is nil.
func (ce *celEnv) strGetter(path string) func(*activation) string {
	return fieldGetter(ce, path, func(t *objType) map[string]func(any) string { return t.strs })
}

// intGetter reads an int field path, or is nil.
func (ce *celEnv) intGetter(path string) func(*activation) int64 {
	return fieldGetter(ce, path, func(t *objType) map[string]func(any) int64 { return t.ints })
}

// fieldGetter reads a field path through the unboxed readers of its
// object's type that readers picks, or is nil.
func fieldGetter[V any](ce *celEnv, path string, readers func(*objType) map[string]func(any) V) func(*activation) V {
	obj, t, f := ce.fieldReader(path)
	if obj == nil || readers(t)[f] == nil {
		return nil
	}
	last := readers(t)[f]
	return func(a *activation) V { return last(obj(a)) }
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i < len(p); i++ {
		if p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

// bitset holds check ids.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)   { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) setAll(ids []int32) {
	for _, i := range ids {
		b[i>>6] |= 1 << (uint(i) & 63)
	}
}

// trie maps byte strings to the checks whose prefix (or, reversed, suffix)
// they are.
type trie struct {
	ids      []int32
	keys     []byte
	children []*trie
}

func (t *trie) insert(s string, id int32, reverse bool) {
	n := t
	for i := 0; i < len(s); i++ {
		c := s[i]
		if reverse {
			c = s[len(s)-1-i]
		}
		n = n.child(c, true)
	}
	n.ids = append(n.ids, id)
}

func (t *trie) child(c byte, create bool) *trie {
	for i, k := range t.keys {
		if k == c {
			return t.children[i]
		}
	}
	if !create {
		return nil
	}
	n := &trie{}
	t.keys = append(t.keys, c)
	t.children = append(t.children, n)
	return n
}

// match sets the ids of every key that is a prefix (suffix) of s.
func (t *trie) match(s string, reverse bool, out bitset) {
	n := t
	for i := 0; n != nil; i++ {
		out.setAll(n.ids)
		if i == len(s) {
			return
		}
		c := s[i]
		if reverse {
			c = s[len(s)-1-i]
		}
		n = n.child(c, false)
	}
}

// guardIndex indexes the checks guarded on one field path.
type guardIndex struct {
	path   string
	get    func(*activation) string
	getInt func(*activation) int64
	eq     map[string][]int32
	intEq  map[int64][]int32
	prefix *trie
	suffix *trie
	// contains are searched one by one: strings.Contains is fast enough
	// for the handful a rule set has per field.
	contains []substring
	// args reads argv when the path is a process's cmdline (argv joined
	// by spaces); needJoin says some test needs the joined string, which
	// the index otherwise leaves unbuilt (see argvContains).
	args     func(*activation) []string
	needJoin bool
}

func (g *guardIndex) add(id int32, alt guardAlt) {
	g.needJoin = g.needJoin || len(alt.vals.eq) > 0 || len(alt.vals.prefix) > 0 || len(alt.vals.suffix) > 0 ||
		slices.ContainsFunc(alt.vals.contains, func(l string) bool { return !spaceFree(l) })
	for _, n := range alt.ints {
		g.intEq[n] = append(g.intEq[n], id)
	}
	vals := alt.vals
	for _, v := range vals.eq {
		g.eq[v] = append(g.eq[v], id)
	}
	for _, v := range vals.prefix {
		if g.prefix == nil {
			g.prefix = &trie{}
		}
		g.prefix.insert(v, id, false)
	}
	for _, v := range vals.suffix {
		if g.suffix == nil {
			g.suffix = &trie{}
		}
		g.suffix.insert(v, id, true)
	}
	for _, v := range vals.contains {
		g.addContains(v, id)
	}
}

// substring is one literal a field is searched for, and its checks.
type substring struct {
	lit string
	ids []int32
}

func (g *guardIndex) addContains(lit string, id int32) {
	for i := range g.contains {
		if g.contains[i].lit == lit {
			g.contains[i].ids = append(g.contains[i].ids, id)
			return
		}
	}
	g.contains = append(g.contains, substring{lit, []int32{id}})
}

// kindIndex is what one event kind meets.
type kindIndex struct {
	always bitset
	guards []*guardIndex
}

// candidates fills out with the checks the activation's event must be
// evaluated against.
func (k *kindIndex) candidates(a *activation, out bitset) {
	copy(out, k.always)
	for _, g := range k.guards {
		if g.getInt != nil {
			out.setAll(g.intEq[g.getInt(a)])
			continue
		}
		if g.args != nil && !g.needJoin {
			args := g.args(a)
			for _, sub := range g.contains {
				if argvContains(args, sub.lit) {
					out.setAll(sub.ids)
				}
			}
			continue
		}
		v := g.get(a)
		out.setAll(g.eq[v])
		if g.prefix != nil {
			g.prefix.match(v, false, out)
		}
		if g.suffix != nil {
			g.suffix.match(v, true, out)
		}
		for _, sub := range g.contains {
			if strings.Contains(v, sub.lit) {
				out.setAll(sub.ids)
			}
		}
	}
}

// joinedArgs reads argv for a path naming a process's cmdline (argv
// joined by spaces), or is nil for any other path.
func (ce *celEnv) joinedArgs(path string) func(*activation) []string {
	obj, t, f := ce.fieldReader(path)
	if obj == nil || f != "cmdline" || t.lists["args"] == nil {
		return nil
	}
	args := t.lists["args"]
	return func(a *activation) []string { return args(obj(a)) }
}

// spaceFree says lit is not empty and holds no space.
func spaceFree(lit string) bool { return lit != "" && !strings.Contains(lit, " ") }

// argvContains says whether argv joined by spaces contains lit, for a
// spaceFree lit, without joining: such a lit cannot span the space
// between two arguments, so it occurs in the join exactly when it occurs
// in one argument.
func argvContains(args []string, lit string) bool {
	for _, s := range args {
		if strings.Contains(s, lit) {
			return true
		}
	}
	return false
}

func trailingZeros(w uint64) int { return bits.TrailingZeros64(w) }

// hasGuarded says whether check id is filed under one of k's guards.
func (k *kindIndex) hasGuarded(id int) bool {
	for _, g := range k.guards {
		for _, ids := range g.eq {
			if slices.Contains(ids, int32(id)) {
				return true
			}
		}
		for _, ids := range g.intEq {
			if slices.Contains(ids, int32(id)) {
				return true
			}
		}
		for _, s := range g.contains {
			if slices.Contains(s.ids, int32(id)) {
				return true
			}
		}
		if g.prefix.holds(int32(id)) || g.suffix.holds(int32(id)) {
			return true
		}
	}
	return false
}

// holds says whether id is anywhere in the trie.
func (t *trie) holds(id int32) bool {
	if t == nil {
		return false
	}
	if slices.Contains(t.ids, id) {
		return true
	}
	for _, c := range t.children {
		if c.holds(id) {
			return true
		}
	}
	return false
}
