package enforce

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/execguard"
	"github.com/vigil-sec/vigil/internal/enforce/fileguard"
	"github.com/vigil-sec/vigil/internal/enforce/netguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/enforce/xdpguard"
	"github.com/vigil-sec/vigil/internal/policy"
)

// Origin says where a policy came from.
type Origin string

const (
	// OriginFile is vigil run --policy FILE.
	OriginFile Origin = "file"
	// OriginApplied is vigil policy apply, remembered in the state dir.
	OriginApplied Origin = "applied"
	// OriginRules is rules with action kill or deny.
	OriginRules Origin = "rules"
	// OriginIntel is threat-intelligence sources: one policy each,
	// intel.<source>, generated from its indicators.
	OriginIntel Origin = "intel"
)

type namedPolicy struct {
	policy.Policy
	origin Origin
}

// current is what the event path reads: the plan in force and the rule
// tables the network guard was given (to name a match).
type current struct {
	plan    *Plan
	origins map[string]Origin
	connect []netguard.Rule
	bind    []netguard.Rule
	// rules says, per rule with action kill or deny, where it runs.
	rules map[string]RuleInfo
	// scopes are what scope_cgroups was last given: the plan's static
	// scopes and the pods' (pods.go)
	scopes map[uint64]uint64
}

func emptyPlan() *Plan {
	pl, _ := NewPlan(nil, nil, nil)
	return pl
}

// Set replaces every policy of one origin and applies the whole set. When
// the set cannot be applied (a scope that does not resolve, a mechanism
// unavailable here, too many policies) nothing changes and the error says
// why. Names are unique across origins: applying a name that came from
// another origin replaces it.
func (e *Enforcer) Set(origin Origin, ps []policy.Policy) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.setLocked(origin, ps)
}

func (e *Enforcer) setLocked(origin Origin, ps []policy.Policy) error {
	next := make(map[Origin][]namedPolicy, len(e.origins)+1)
	names := map[string]bool{}
	for _, p := range ps {
		if names[p.Name] {
			return fmt.Errorf("%s: policy %q is given twice", p.Source, p.Name)
		}
		names[p.Name] = true
		next[origin] = append(next[origin], namedPolicy{Policy: p, origin: origin})
	}
	for o, list := range e.origins {
		if o == origin {
			continue
		}
		for _, np := range list {
			if !names[np.Name] {
				next[o] = append(next[o], np)
			}
		}
	}
	return e.apply(next)
}

// SetAll replaces the whole set at once: what an agent does at start, so
// that adopted policies never lapse between one origin and the next.
func (e *Enforcer) SetAll(sets map[Origin][]policy.Policy) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	next := map[Origin][]namedPolicy{}
	seen := map[string]Origin{}
	for _, o := range []Origin{OriginRules, OriginIntel, OriginFile, OriginApplied} {
		for _, p := range sets[o] {
			if prev, dup := seen[p.Name]; dup {
				if prev == o {
					return fmt.Errorf("%s: policy %q is given twice", p.Source, p.Name)
				}
				// a later origin replaces an earlier one of the same name
				next[prev] = slices.DeleteFunc(next[prev], func(np namedPolicy) bool { return np.Name == p.Name })
			}
			seen[p.Name] = o
			next[o] = append(next[o], namedPolicy{Policy: p, origin: o})
		}
	}
	return e.apply(next)
}

// Upsert adds policies of an origin, replacing those of the same names.
func (e *Enforcer) Upsert(origin Origin, ps []policy.Policy) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.upsertLocked(origin, ps)
}

// Replace puts p in place of the policy of its name and origin. When both
// list only what intel generates (sha256 digests, connect rules, packet
// sources) and keep their scope, only p's entries are planned again and
// the other policies' are neither planned nor written (replan.go);
// otherwise the whole set is planned, as Upsert does.
func (e *Enforcer) Replace(origin Origin, p policy.Policy) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.cur.Load()
	list := e.origins[origin]
	i := slices.IndexFunc(list, func(np namedPolicy) bool { return np.Name == p.Name })
	n, numbered := numberOf(cur.plan, p.Name)
	if i < 0 || !numbered || !e.applied || !replaceable(p) || !replaceable(list[i].Policy) ||
		!sameScope(p.Scope, list[i].Scope) {
		return e.upsertLocked(origin, []policy.Policy{p})
	}
	held, err := e.state.Slots()
	if err != nil {
		return err
	}
	next := maps.Clone(e.origins)
	next[origin] = slices.Clone(list)
	next[origin][i] = namedPolicy{Policy: p, origin: origin}
	e.replans++
	return e.commit(cur.plan.replaced(n, list[i].Policy, p), next, cur.origins, held)
}

func (e *Enforcer) upsertLocked(origin Origin, ps []policy.Policy) error {
	keep := map[string]bool{}
	for _, p := range ps {
		keep[p.Name] = true
	}
	merged := append([]policy.Policy(nil), ps...)
	for _, np := range e.origins[origin] {
		if !keep[np.Name] {
			merged = append(merged, np.Policy)
		}
	}
	return e.setLocked(origin, merged)
}

// Remove takes policies out of the set, by name (all of them but the rules'
// and the intel sources' when names is empty), and returns the names
// removed. The rules' policy follows the rules, and the intel policies
// their sources: neither can be removed here.
func (e *Enforcer) Remove(names []string) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	next := map[Origin][]namedPolicy{}
	var removed []string
	for o, list := range e.origins {
		for _, np := range list {
			if o != OriginRules && o != OriginIntel && (len(names) == 0 || drop[np.Name]) {
				removed = append(removed, np.Name)
				delete(drop, np.Name)
				continue
			}
			next[o] = append(next[o], np)
		}
	}
	if drop[RulesPolicyName] {
		return nil, fmt.Errorf("policy %q carries the rules with action kill or deny: change the rules instead", RulesPolicyName)
	}
	for n := range drop {
		if strings.HasPrefix(n, "intel.") {
			return nil, fmt.Errorf("policy %q carries an intel source's indicators: change the intel configuration instead", n)
		}
		return nil, fmt.Errorf("no policy %q: `vigil policy list` shows the set", n)
	}
	sort.Strings(removed)
	return removed, e.apply(next)
}

// RulesPolicyName is the policy rules with a kill or deny action become.
const RulesPolicyName = policy.RulesName

// apply plans origins and writes the plan into the kernel; e.mu is held.
func (e *Enforcer) apply(origins map[Origin][]namedPolicy) error {
	var all []policy.Policy
	originOf := map[string]Origin{}
	for o, list := range origins {
		for _, np := range list {
			all = append(all, np.Policy)
			originOf[np.Name] = o
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	held, err := e.state.Slots()
	if err != nil {
		return err
	}
	numbers, err := Numbers(all, held)
	if err != nil {
		return err
	}
	pl, err := NewPlan(all, numbers, e.resolver())
	if err != nil {
		return err
	}
	return e.commit(pl, origins, originOf, held)
}

// commit writes a plan of origins into the kernel and makes it the one in
// force; e.mu is held.
func (e *Enforcer) commit(pl *Plan, origins map[Origin][]namedPolicy, originOf map[string]Origin, held []pinned.Slot) error {
	learned := pl.addLearned(e.learned, e.resolver())
	if err := e.needsOf(pl); err != nil {
		return err
	}
	cur := &current{plan: pl, origins: originOf, rules: e.cur.Load().rules}
	if err := e.write(pl, cur, held); err != nil {
		return err
	}
	e.origins = origins
	e.learned = learned
	e.cur.Store(cur)
	e.applied = true
	if len(pl.Files) == 0 {
		e.release(MechFile)
	}
	if pl.Modules == (pinned.Verdict{}) {
		e.release(MechModules)
	}
	if pl.Pods == 0 {
		e.release(MechPods)
	}
	for _, p := range pl.ModuleProblems {
		e.log.Warn("module allowlist", "problem", p)
	}
	for _, u := range pl.Unresolved {
		e.log.Warn("policy path does not exist yet; watched", "policy", u.Policy, "entry", u.Entry.Name, "path", u.Path, "err", u.Err)
	}
	return nil
}

// needsOf loads what the plan needs and refuses what cannot run here.
func (e *Enforcer) needsOf(pl *Plan) error {
	var errs []error
	needIf := func(cond bool, mech string) {
		if cond {
			if err := e.need(mech); err != nil {
				errs = append(errs, err)
			}
		}
	}
	needIf(len(pl.ExecDeny) > 0 || len(pl.Hashes) > 0 || len(pl.DenyPaths) > 0, MechExec)
	needIf(len(pl.Files) > 0, MechFile)
	needIf(len(pl.Connect) > 0 || len(pl.Bind) > 0, MechNet)
	e.dropsWanted = len(pl.Drops)
	needIf(len(pl.Drops) > 0, MechPackets)
	needIf(pl.Modules != (pinned.Verdict{}), MechModules)
	needIf(pl.Pods != 0, MechPods)
	if e.xdp != nil && len(pl.Drops) > e.xdp.MaxPrefixes() {
		// before anything is written: the set in force stays whole
		errs = append(errs, tooManyPrefixes(pl, e.xdp.MaxPrefixes()))
	}
	return errors.Join(errs...)
}

// write puts the plan into the kernel, in an order that never lets a
// policy act on entries that are not its own: the masks of policies that
// go (or whose number moves) are cleared first, then every table is
// written, then the masks are set.
func (e *Enforcer) write(pl *Plan, cur *current, held []pinned.Slot) error {
	prev := e.cur.Load()
	old := prev.plan
	keep := ^uint64(0)
	for _, s := range held {
		if n, ok := numberOf(pl, s.Name); !ok || n != s.Number {
			keep &^= 1 << s.Number
		}
	}
	if err := e.state.SetPolicies(old.Host&keep, old.HashHold&keep, len(prev.scopes) > 0 || old.Pods != 0); err != nil {
		return err
	}
	// pod_scopes and container_scopes before scope_cgroups: a cgroup
	// made meanwhile must not get a number that is leaving
	if e.applied {
		e.carry &= keep & pl.Pods
	} else {
		e.carry = keep & pl.Pods
	}
	if e.pscope != nil {
		if err := errors.Join(e.pscope.SetPods(maskBits(e.podBits, keep)),
			e.pscope.SetContainers(maskBits(e.ctrBits, keep))); err != nil {
			return err
		}
	}
	if err := e.state.SetScopes(maskBits(prev.scopes, keep)); err != nil {
		return err
	}
	var errs []error
	if e.exec != nil {
		errs = append(errs, e.exec.SetDeny(execKeys(pl.ExecDeny)))
		// taken after the write: an exec the kernel may have missed is
		// left to the user-space backstop (at worst both act)
		now := time.Now()
		for ino := range pl.ExecDeny {
			if t, ok := old.execSince[ino]; ok {
				pl.execSince[ino] = t
			} else {
				pl.execSince[ino] = now
			}
		}
	}
	if e.file != nil {
		errs = append(errs, e.file.SetProtected(fileKeys(pl.Files)))
	}
	if e.net != nil {
		cur.connect, cur.bind = netRules(pl.Connect), netRules(pl.Bind)
		errs = append(errs, e.net.SetConnectRules(cur.connect), e.net.SetBindRules(cur.bind))
	}
	if e.mod != nil {
		// approvals first: a load they approve is never killed meanwhile
		errs = append(errs, e.mod.SetAllowed(pl.ModuleAllow), e.mod.SetBlock(pl.Modules))
	}
	if e.xdp != nil {
		errs = append(errs, e.xdp.SetSources(xdpSources(pl.Drops)), e.attachInterfaces(pl.Interfaces))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, s := range pl.Slots() {
		if n, ok := numberOfSlots(held, s.Name); !ok || n != s.Number {
			if err := e.state.ResetHits(s.Number); err != nil {
				return err
			}
		}
	}
	if err := e.state.SetSlots(pl.Slots()); err != nil {
		return err
	}
	dyn, err := e.podScopes(pl)
	if err != nil {
		return err
	}
	return e.writeScopes(pl, cur, dyn)
}

func numberOf(pl *Plan, name string) (int, bool) {
	for n, p := range pl.Policies {
		if p.Name == name {
			return n, true
		}
	}
	return 0, false
}

func numberOfSlots(slots []pinned.Slot, name string) (int, bool) {
	for _, s := range slots {
		if s.Name == name {
			return s.Number, true
		}
	}
	return 0, false
}

// maskBits keeps the policy bits of keep in a map of policy masks
// (scope_cgroups, pod_scopes, container_scopes), dropping keys left with
// none.
func maskBits[K comparable](in map[K]uint64, keep uint64) map[K]uint64 {
	out := make(map[K]uint64, len(in))
	for k, m := range in {
		if m&keep != 0 {
			out[k] = m & keep
		}
	}
	return out
}

func execKeys(in map[Inode]pinned.Verdict) map[execguard.InodeKey]pinned.Verdict {
	out := make(map[execguard.InodeKey]pinned.Verdict, len(in))
	for k, v := range in {
		out[execguard.InodeKey{Dev: uint32(k.Dev), Ino: k.Ino}] = v
	}
	return out
}

func fileKeys(in map[Inode]FileEntry) map[fileguard.InodeKey]fileguard.Entry {
	out := make(map[fileguard.InodeKey]fileguard.Entry, len(in))
	for k, v := range in {
		out[fileguard.InodeKey{Dev: uint32(k.Dev), Ino: k.Ino}] = fileguard.Entry{Subtree: v.Subtree, Write: v.Write, Read: v.Read}
	}
	return out
}

func netRules(in []NetEntry) []netguard.Rule {
	out := make([]netguard.Rule, 0, len(in))
	for _, e := range in {
		proto, _ := netguard.ParseProtocol(e.Protocol)
		out = append(out, netguard.Rule{Prefix: e.Prefix, Port: e.Port, Protocol: proto, Verdict: e.Verdict})
	}
	return out
}

func xdpSources(in map[netip.Prefix]pinned.Verdict) []xdpguard.Source {
	out := make([]xdpguard.Source, 0, len(in))
	for p, v := range in {
		out = append(out, xdpguard.Source{Prefix: p, Verdict: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Prefix.String() < out[j].Prefix.String() })
	return out
}

// packetRoom is how many prefixes the packet filter is loaded for: the
// configured number, or the larger of the default and 5/4 of what the
// plan being applied lists (room for the feeds to grow).
func (e *Enforcer) packetRoom() int {
	if e.cfg.MaxPacketPrefixes > 0 {
		return e.cfg.MaxPacketPrefixes
	}
	return max(xdpguard.DefaultMaxPrefixes, e.dropsWanted+e.dropsWanted/4)
}

// tooManyPrefixes says which policies list how many packet prefixes, when
// together they list more than the tables hold.
func tooManyPrefixes(pl *Plan, room int) error {
	var parts []string
	for _, p := range pl.Policies {
		if n := len(p.Packets.Drop); n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", p.Name, n))
		}
	}
	sort.Strings(parts)
	return fmt.Errorf("packets: %d source prefixes (%s), room for %d: the set is refused and the previous one stays; "+
		"raise intel.max_packet_prefixes (the tables are sized when the packet filter loads): %w",
		len(pl.Drops), strings.Join(parts, ", "), room, xdpguard.ErrTooManySources)
}

// attachInterfaces attaches the packet filter where the plan asks; it is
// never detached by a plan change (an empty table drops nothing), only by
// Uninstall.
func (e *Enforcer) attachInterfaces(ifaces []string) error {
	var errs []error
	for _, name := range ifaces {
		if e.xdpIface[name] {
			continue
		}
		mode, err := e.xdp.Attach(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("packets: %w", err))
			continue
		}
		e.xdpIface[name] = true
		e.log.Info("packet filter attached", "interface", name, "mode", mode)
	}
	return errors.Join(errs...)
}
