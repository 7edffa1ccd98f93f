package xdpguard

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
)

// Source is a source prefix and the policies that hold it: packets from it
// are dropped when an enforcing policy holds it, counted as would-drop
// when only monitoring ones do.
type Source struct {
	Prefix  netip.Prefix
	Verdict pinned.Verdict
}

// ErrTooManySources is returned when SetSources is given more distinct
// prefixes than Options.MaxPrefixes.
var ErrTooManySources = errors.New("more source prefixes than the tables hold")

// entry is what the tables hold for one prefix.
type entry struct {
	Verdict pinned.Verdict
	Index   uint32
}

// MaxPrefixes is how many distinct prefixes the tables hold.
func (g *Guard) MaxPrefixes() int { return g.maxPrefixes }

// SetSources makes the tables hold exactly sources, writing only what
// differs: a prefix that stays keeps its entry, its counter slot and its
// counts; a prefix that goes is deleted first; a new prefix gets the
// lowest free slot, zeroed before the prefix is written. The class bits
// new prefixes need are set before anything else, stale ones cleared
// last. Sources listing the same prefix add up; a prefix with an empty
// verdict is left out. Each entry is written with the verdicts of the
// listed prefixes that contain it, so that the kernel's longest match
// answers for all of them (a /32 monitored inside an enforced /8 is
// still dropped).
func (g *Guard) SetSources(sources []Source) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	want, err := fold(sources)
	if err != nil {
		return err
	}
	if len(want) > g.maxPrefixes {
		return fmt.Errorf("set sources: %d prefixes, room for %d: %w", len(want), g.maxPrefixes, ErrTooManySources)
	}
	have, err := g.entries()
	if err != nil {
		return err
	}
	need := classesOf(want)
	inMap, err := g.coverClasses(need)
	if err != nil {
		return err
	}

	used := make([]bool, g.maxPrefixes)
	var added, moved []netip.Prefix
	for p, e := range have {
		if _, ok := want[p]; !ok {
			if err := g.deleteEntry(p); err != nil {
				return err
			}
			continue
		}
		if int(e.Index) >= g.maxPrefixes || used[e.Index] {
			moved = append(moved, p) // a slot it cannot keep: a new one, in place
			continue
		}
		used[e.Index] = true
		if e.Verdict != want[p] {
			if err := g.writeEntry(p, entry{Verdict: want[p], Index: e.Index}); err != nil {
				return err
			}
		}
	}
	for p := range want {
		if _, ok := have[p]; !ok {
			added = append(added, p)
		}
	}
	slices.SortFunc(added, comparePrefix)

	zero := make([]xdpguardPrefixCounters, ebpf.MustPossibleCPU())
	next := 0
	for _, p := range append(moved, added...) {
		for used[next] {
			next++
		}
		used[next] = true
		if err := g.objs.Counters.Update(uint32(next), zero, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("set sources: reset counters %d: %w", next, err)
		}
		if err := g.writeEntry(p, entry{Verdict: want[p], Index: uint32(next)}); err != nil {
			return err
		}
	}
	return g.writeClasses(inMap, need)
}

// fold turns sources into the entries to write: canonical prefixes, each
// with the union of its own verdicts and those of every listed prefix
// containing it.
func fold(sources []Source) (map[netip.Prefix]pinned.Verdict, error) {
	own := make(map[netip.Prefix]pinned.Verdict, len(sources))
	lengths := map[bool]map[int]bool{false: {}, true: {}} // by Is4
	for i, s := range sources {
		p, err := canonical(s.Prefix)
		if err != nil {
			return nil, fmt.Errorf("source %d: %w", i, err)
		}
		if s.Verdict.Enforce == 0 && s.Verdict.Monitor == 0 {
			continue
		}
		v := own[p]
		v.Enforce |= s.Verdict.Enforce
		v.Monitor |= s.Verdict.Monitor
		own[p] = v
		lengths[p.Addr().Is4()][p.Bits()] = true
	}
	out := make(map[netip.Prefix]pinned.Verdict, len(own))
	for p, v := range own {
		// the shorter prefixes that could contain p: one lookup per
		// length in use, not one comparison per listed prefix
		for bits := range lengths[p.Addr().Is4()] {
			if bits >= p.Bits() {
				continue
			}
			outer, _ := p.Addr().Prefix(bits)
			if ov, ok := own[outer]; ok {
				v.Enforce |= ov.Enforce
				v.Monitor |= ov.Monitor
			}
		}
		out[p] = v
	}
	return out, nil
}

// canonical masks p and writes an IPv4-mapped IPv6 prefix as IPv4, the
// form IPv4 packets are looked up in.
func canonical(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return netip.Prefix{}, fmt.Errorf("prefix %v: want an IPv4 or IPv6 CIDR such as 192.0.2.0/24", p)
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// entries reads both tries.
func (g *Guard) entries() (map[netip.Prefix]entry, error) {
	out := make(map[netip.Prefix]entry)
	var (
		k4 xdpguardLpmV4Key
		k6 xdpguardLpmV6Key
		v  xdpguardSrcEntry
	)
	it := g.objs.V4.Iterate()
	for it.Next(&k4, &v) {
		out[netip.PrefixFrom(netip.AddrFrom4(k4.Addr), int(k4.Prefixlen))] = fromValue(v)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", xdpguardMapXdpSrcV4, err)
	}
	it = g.objs.V6.Iterate()
	for it.Next(&k6, &v) {
		out[netip.PrefixFrom(netip.AddrFrom16(k6.Addr), int(k6.Prefixlen))] = fromValue(v)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", xdpguardMapXdpSrcV6, err)
	}
	return out, nil
}

func fromValue(v xdpguardSrcEntry) entry {
	return entry{Verdict: pinned.Verdict{Enforce: v.Verdict.Enforce, Monitor: v.Verdict.Monitor}, Index: v.Index}
}

func (g *Guard) writeEntry(p netip.Prefix, e entry) error {
	var v xdpguardSrcEntry
	v.Verdict.Enforce, v.Verdict.Monitor, v.Index = e.Verdict.Enforce, e.Verdict.Monitor, e.Index
	v.Bits = uint32(p.Bits())
	m, key := g.trie(p)
	if err := m.Update(key, &v, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("set source %v: %w", p, err)
	}
	return nil
}

func (g *Guard) deleteEntry(p netip.Prefix) error {
	m, key := g.trie(p)
	if err := m.Delete(key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("delete source %v: %w", p, err)
	}
	return nil
}

// trie returns the trie of p's family and p's key in it.
func (g *Guard) trie(p netip.Prefix) (*ebpf.Map, any) {
	if p.Addr().Is4() {
		return g.objs.V4, &xdpguardLpmV4Key{Prefixlen: uint32(p.Bits()), Addr: p.Addr().As4()}
	}
	return g.objs.V6, &xdpguardLpmV6Key{Prefixlen: uint32(p.Bits()), Addr: p.Addr().As16()}
}
