package xdpguard

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
)

// The class pre-filter (xdpguard.h): a bit per IPv4 /16 and per hash of an
// IPv6 /32, set when a listed prefix may hold addresses of that class. The
// kernel skips the trie for a source whose class bit is clear, so a bit
// must be set before the prefix needing it is written, and may only be
// cleared after that prefix is gone.

const classWords = int(xdpguardXdpLimitsXDP_CLASS_WORDS)

const (
	familyV4 = int(xdpguardXdpFamilyXDP_FAMILY_V4)
	familyV6 = int(xdpguardXdpFamilyXDP_FAMILY_V6)
)

// classes are both families' bitmaps, as xdp_classes holds them.
type classes [2][classWords]uint64

func (c *classes) set(family int, class uint32) {
	c[family][class>>6] |= 1 << (class & 63)
}

// classHash is the class of an IPv6 address whose first 32 bits are top.
func classHash(top uint32) uint32 {
	return (top * uint32(xdpguardXdpClassHashXDP_CLASS_HASH)) >> 16
}

// add sets the classes a canonical prefix touches.
func (c *classes) add(p netip.Prefix) {
	if p.Addr().Is4() {
		a := p.Addr().As4()
		hi := uint32(binary.BigEndian.Uint16(a[:2]))
		// a prefix shorter than /16 spans 2^(16-bits) classes from hi
		for i := uint32(0); i < 1<<max(0, 16-p.Bits()); i++ {
			c.set(familyV4, hi+i)
		}
		return
	}
	if p.Bits() < 16 { // spans more /32s than there are classes
		for i := range c[familyV6] {
			c[familyV6][i] = ^uint64(0)
		}
		return
	}
	a := p.Addr().As16()
	top := binary.BigEndian.Uint32(a[:4])
	for i := uint32(0); i < 1<<max(0, 32-p.Bits()); i++ {
		c.set(familyV6, classHash(top+i))
	}
}

func (c *classes) or(o *classes) {
	for f := range c {
		for i := range c[f] {
			c[f][i] |= o[f][i]
		}
	}
}

func classesOf[V any](prefixes map[netip.Prefix]V) *classes {
	c := &classes{}
	for p := range prefixes {
		c.add(p)
	}
	return c
}

func (g *Guard) readClasses() (*classes, error) {
	c := &classes{}
	for f := range c {
		for i := range c[f] {
			if err := g.objs.Classes.Lookup(uint32(f*classWords+i), &c[f][i]); err != nil {
				return nil, fmt.Errorf("read %s: %w", xdpguardMapXdpClasses, err)
			}
		}
	}
	return c, nil
}

// writeClasses writes the words of to that differ from from, the map's
// content.
func (g *Guard) writeClasses(from, to *classes) error {
	for f := range to {
		for i := range to[f] {
			if from[f][i] == to[f][i] {
				continue
			}
			if err := g.objs.Classes.Update(uint32(f*classWords+i), to[f][i], ebpf.UpdateExist); err != nil {
				return fmt.Errorf("write %s: %w", xdpguardMapXdpClasses, err)
			}
		}
	}
	return nil
}

// coverClasses sets the class bits prefixes need, keeping the others: a
// step that can never make a listed prefix unreachable. It returns what
// the map holds afterwards.
func (g *Guard) coverClasses(need *classes) (*classes, error) {
	have, err := g.readClasses()
	if err != nil {
		return nil, err
	}
	union := *have
	union.or(need)
	return &union, g.writeClasses(have, &union)
}
