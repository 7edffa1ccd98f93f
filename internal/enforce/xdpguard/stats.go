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

// Counts are what packets did, summed over CPUs. Bytes are whole frames,
// Ethernet header included.
type Counts struct {
	Packets        uint64 // dropped
	Bytes          uint64
	WouldDrop      uint64 // matched, passed: only monitoring policies held the prefix
	WouldDropBytes uint64
}

func (c *Counts) add(k xdpguardPrefixCounters) {
	c.Packets += k.Packets
	c.Bytes += k.Bytes
	c.WouldDrop += k.WouldDrop
	c.WouldDropBytes += k.WouldDropBytes
}

// PrefixStats are one listed prefix's counts. A packet counts for the
// longest listed prefix that contains its source.
type PrefixStats struct {
	Prefix netip.Prefix
	// Verdict is the entry's: the prefix's own policies and those of the
	// listed prefixes that contain it.
	Verdict pinned.Verdict
	Index   uint32 // the counter slot
	Counts
}

// Stats returns the counts of every listed prefix, ordered by prefix.
func (g *Guard) Stats() ([]PrefixStats, error) {
	have, err := g.entries()
	if err != nil {
		return nil, err
	}
	out := make([]PrefixStats, 0, len(have))
	for p, e := range have {
		s, err := g.statsOf(p, e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b PrefixStats) int { return comparePrefix(a.Prefix, b.Prefix) })
	return out, nil
}

// ErrNotListed is returned by StatsOf for a prefix the tables do not hold.
var ErrNotListed = errors.New("prefix not listed")

// StatsOf returns one listed prefix's counts, without reading the others.
func (g *Guard) StatsOf(prefix netip.Prefix) (PrefixStats, error) {
	p, err := canonical(prefix)
	if err != nil {
		return PrefixStats{}, err
	}
	var v xdpguardSrcEntry
	m, key := g.trie(p)
	// the longest match of p's address up to p's length: p itself
	// when it is listed, else a shorter prefix (or nothing)
	err = m.Lookup(key, &v)
	if errors.Is(err, ebpf.ErrKeyNotExist) || (err == nil && int(v.Bits) != p.Bits()) {
		return PrefixStats{}, fmt.Errorf("stats of %v: %w", p, ErrNotListed)
	}
	if err != nil {
		return PrefixStats{}, fmt.Errorf("stats of %v: %w", p, err)
	}
	return g.statsOf(p, fromValue(v))
}

// statsOf sums the per-CPU counters of p's entry e.
func (g *Guard) statsOf(p netip.Prefix, e entry) (PrefixStats, error) {
	s := PrefixStats{Prefix: p, Verdict: e.Verdict, Index: e.Index}
	var perCPU []xdpguardPrefixCounters
	if err := g.objs.Counters.Lookup(e.Index, &perCPU); err != nil {
		return PrefixStats{}, fmt.Errorf("read counters of %v: %w", p, err)
	}
	for _, c := range perCPU {
		s.add(c)
	}
	return s, nil
}

// SourceStats are one source address's counts.
type SourceStats struct {
	Addr netip.Addr
	// Prefix is the listed prefix it last matched; invalid once that
	// prefix is no longer listed.
	Prefix netip.Prefix
	Counts
}

// TopSources returns the n source addresses with the most dropped packets
// (then would-drop packets), of those the kernel still remembers: it
// forgets the least recently seen beyond Options.MaxTalkers. n <= 0
// returns all.
func (g *Guard) TopSources(n int) ([]SourceStats, error) {
	have, err := g.entries()
	if err != nil {
		return nil, err
	}
	byIndex := make(map[uint32]netip.Prefix, len(have))
	for p, e := range have {
		byIndex[e.Index] = p
	}
	var (
		out    []SourceStats
		key    xdpguardTalkerKey
		perCPU []xdpguardTalker
	)
	it := g.objs.Talkers.Iterate()
	for it.Next(&key, &perCPU) {
		s := SourceStats{Addr: netip.AddrFrom16(key.Addr).Unmap()}
		var index uint32
		for _, t := range perCPU {
			if t.Counters != (xdpguardPrefixCounters{}) {
				index = t.Index
			}
			s.add(t.Counters)
		}
		// a slot given to another prefix since is not this source's
		if p, ok := byIndex[index]; ok && p.Contains(s.Addr) {
			s.Prefix = p
		}
		out = append(out, s)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", xdpguardMapXdpTalkers, err)
	}
	slices.SortFunc(out, func(a, b SourceStats) int {
		if c := cmp.Compare(b.Packets, a.Packets); c != 0 {
			return c
		}
		if c := cmp.Compare(b.WouldDrop, a.WouldDrop); c != 0 {
			return c
		}
		return a.Addr.Compare(b.Addr)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// Losses are what the kernel could not count.
type Losses struct {
	// Talkers: packets counted per prefix but not per source, the
	// source table refusing a new address.
	Talkers uint64
	// Counters: packets whose entry named no counter slot.
	Counters uint64
}

// Losses sums the per-CPU loss counters.
func (g *Guard) Losses() (Losses, error) {
	var l Losses
	for reason, dst := range map[xdpguardLostReason]*uint64{
		xdpguardLostReasonLOST_TALKER:  &l.Talkers,
		xdpguardLostReasonLOST_COUNTER: &l.Counters,
	} {
		var perCPU []uint64
		if err := g.objs.Lost.Lookup(uint32(reason), &perCPU); err != nil {
			return Losses{}, fmt.Errorf("read %s: %w", xdpguardMapXdpLost, err)
		}
		for _, n := range perCPU {
			*dst += n
		}
	}
	return l, nil
}
