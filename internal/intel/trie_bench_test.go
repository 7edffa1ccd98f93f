package intel

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// bitTrie is the alternative ipIndex was measured against: a binary
// trie over IPv4 address bits, one node per bit of every prefix, whose
// lookup walks from the root collecting the prefixes on the way.
type bitTrie struct {
	nodes []trieNode
}

type trieNode struct {
	child [2]int32
	inds  []*Indicator
}

func newBitTrie() *bitTrie { return &bitTrie{nodes: make([]trieNode, 1)} }

func (t *bitTrie) insert(p netip.Prefix, i *Indicator) {
	b := p.Addr().As4()
	u := binary.BigEndian.Uint32(b[:])
	n := int32(0)
	for d := range p.Bits() {
		bit := (u >> (31 - d)) & 1
		if t.nodes[n].child[bit] == 0 {
			t.nodes = append(t.nodes, trieNode{})
			t.nodes[n].child[bit] = int32(len(t.nodes) - 1)
		}
		n = t.nodes[n].child[bit]
	}
	t.nodes[n].inds = append(t.nodes[n].inds, i)
}

func (t *bitTrie) lookup(a netip.Addr, out []*Indicator) []*Indicator {
	b := a.As4()
	u := binary.BigEndian.Uint32(b[:])
	n := int32(0)
	for d := 0; ; d++ {
		out = append(out, t.nodes[n].inds...)
		if d == 32 {
			return out
		}
		next := t.nodes[n].child[(u>>(31-d))&1]
		if next == 0 {
			return out
		}
		n = next
	}
}

// BenchmarkIPIndex compares ipIndex (a map per prefix length) with a
// binary trie over 1 M IPv4 entries (/32 with a /24 in 20): lookups
// that hit and that miss, and the memory each holds.
func BenchmarkIPIndex(b *testing.B) {
	const n = 1_000_000
	inds := make([]*Indicator, n)
	for i := range inds {
		a := uint32(0x0b000000) + uint32(i)*2654435761%0x3f000000
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), 32)
		if i%20 == 0 {
			p = netip.PrefixFrom(p.Addr(), 24).Masked()
		}
		inds[i] = &Indicator{Type: TypeIP, Value: p.String(), Prefix: p}
	}
	hit := inds[7].Prefix.Addr()
	miss := netip.MustParseAddr("192.0.2.1")

	base := heapInUse()
	idx := buildIndex(append([]*Indicator(nil), inds...))
	idxBytes := float64(heapInUse()) - float64(base)
	base = heapInUse()
	trie := newBitTrie()
	for _, i := range inds {
		trie.insert(i.Prefix, i)
	}
	trieBytes := float64(heapInUse()) - float64(base)

	var out []*Indicator
	b.Run("maps/hit", func(b *testing.B) {
		for range b.N {
			out = idx.ip.lookup(hit, 0, out[:0])
		}
		b.ReportMetric(idxBytes/n, "B/entry")
	})
	b.Run("trie/hit", func(b *testing.B) {
		for range b.N {
			out = trie.lookup(hit, out[:0])
		}
		b.ReportMetric(trieBytes/n, "B/entry")
	})
	b.Run("maps/miss", func(b *testing.B) {
		for range b.N {
			out = idx.ip.lookup(miss, 0, out[:0])
		}
	})
	b.Run("trie/miss", func(b *testing.B) {
		for range b.N {
			out = trie.lookup(miss, out[:0])
		}
	})
	if len(idx.ip.lookup(hit, 0, nil)) != len(trie.lookup(hit, nil)) {
		b.Fatal("the trie and the maps disagree")
	}
}
