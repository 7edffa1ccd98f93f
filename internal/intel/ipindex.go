package intel

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// ipIndex answers "which listed prefixes hold this address" with one hash
// lookup per distinct prefix length in the list, most specific first.
// Feeds list mostly single addresses (/32, /128) and a few lengths of
// networks, so a lookup is a handful of map probes whatever the list's
// size; a binary trie would walk up to 32 (128) nodes of scattered
// memory and hold a node per bit of every prefix. BenchmarkIPLookup
// measures it at 1 M entries (docs/benchmarks.md).
type ipIndex struct {
	v4    []v4Level
	v6    []v6Level
	bytes int64
}

type v4Level struct {
	bits int
	m    map[uint32][]*Indicator
}

type v6Level struct {
	bits int
	m    map[[16]byte][]*Indicator
}

// buildIPIndex indexes list, sorted so equal prefixes are adjacent.
func buildIPIndex(list []*Indicator) ipIndex {
	var x ipIndex
	v4 := map[int]map[uint32][]*Indicator{}
	v6 := map[int]map[[16]byte][]*Indicator{}
	for start := 0; start < len(list); {
		end := start + 1
		for end < len(list) && list[end].Prefix == list[start].Prefix {
			end++
		}
		group := list[start:end:end]
		p := list[start].Prefix
		if p.Addr().Is4() {
			m := v4[p.Bits()]
			if m == nil {
				m = map[uint32][]*Indicator{}
				v4[p.Bits()] = m
			}
			m[v4Key(p.Addr(), p.Bits())] = group
			x.bytes += mapEntryOverhead + 4 + sliceHeader
		} else {
			m := v6[p.Bits()]
			if m == nil {
				m = map[[16]byte][]*Indicator{}
				v6[p.Bits()] = m
			}
			m[v6Key(p.Addr(), p.Bits())] = group
			x.bytes += mapEntryOverhead + 16 + sliceHeader
		}
		start = end
	}
	for bits, m := range v4 {
		x.v4 = append(x.v4, v4Level{bits, m})
	}
	for bits, m := range v6 {
		x.v6 = append(x.v6, v6Level{bits, m})
	}
	slices.SortFunc(x.v4, func(a, b v4Level) int { return b.bits - a.bits })
	slices.SortFunc(x.v6, func(a, b v6Level) int { return b.bits - a.bits })
	return x
}

// v4Key is a's first bits bits.
func v4Key(a netip.Addr, bits int) uint32 {
	b := a.As4()
	u := binary.BigEndian.Uint32(b[:])
	if bits == 0 {
		return 0
	}
	return u &^ (1<<(32-bits) - 1)
}

// v6Key is a's first bits bits.
func v6Key(a netip.Addr, bits int) [16]byte {
	k := a.As16()
	for i := range k {
		switch {
		case bits >= 8*(i+1):
		case bits <= 8*i:
			k[i] = 0
		default:
			k[i] &= byte(0xff << (8*(i+1) - bits))
		}
	}
	return k
}

// lookup appends the indicators whose prefix holds a and whose port is 0
// or port (any port when port is 0).
func (x *ipIndex) lookup(a netip.Addr, port uint16, out []*Indicator) []*Indicator {
	a = unmapAddr(a)
	if a.Is4() {
		if len(x.v4) == 0 {
			return out
		}
		b := a.As4()
		u := binary.BigEndian.Uint32(b[:])
		for _, l := range x.v4 {
			k := u
			if l.bits < 32 {
				k = u &^ (1<<(32-l.bits) - 1)
			}
			out = appendPort(out, l.m[k], port)
		}
		return out
	}
	for _, l := range x.v6 {
		out = appendPort(out, l.m[v6Key(a, l.bits)], port)
	}
	return out
}

// appendPort appends the indicators of group that cover port.
func appendPort(out, group []*Indicator, port uint16) []*Indicator {
	for _, i := range group {
		if port == 0 || i.Port == 0 || i.Port == port {
			out = append(out, i)
		}
	}
	return out
}
