package netguard

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
)

// Protocol is what a rule matches on: IPPROTO numbers, 0 for any.
type Protocol uint8

// The protocols a rule can name.
const (
	ProtocolAny = Protocol(netguardNetProtoNET_PROTO_ANY)
	ProtocolTCP = Protocol(netguardNetProtoNET_PROTO_TCP)
	ProtocolUDP = Protocol(netguardNetProtoNET_PROTO_UDP)
)

func (p Protocol) String() string {
	switch p {
	case ProtocolAny:
		return "any"
	case ProtocolTCP:
		return "tcp"
	case ProtocolUDP:
		return "udp"
	}
	return fmt.Sprintf("proto_%d", uint8(p))
}

// ParseProtocol reads "tcp", "udp", or "" / "any" for both.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "", "any":
		return ProtocolAny, nil
	case "tcp":
		return ProtocolTCP, nil
	case "udp":
		return ProtocolUDP, nil
	}
	return 0, fmt.Errorf("protocol %q: want tcp, udp or any", s)
}

// Rule is one deny entry: connections (or binds) to Prefix, Port and
// Protocol are refused by the policies of Verdict.Enforce and reported by
// those of Verdict.Monitor.
type Rule struct {
	// Prefix is the destination (for bind, the local address); an invalid
	// Prefix is any address, IPv4 and IPv6. An IPv4-mapped IPv6 prefix
	// (::ffff:10.0.0.0/104) is the IPv4 prefix it maps (10.0.0.0/8):
	// IPv6 sockets reaching IPv4 peers are judged by the IPv4 rules.
	Prefix netip.Prefix
	// Port is the destination (for bind, the local) port; 0 is any port.
	Port     uint16
	Protocol Protocol
	Verdict  pinned.Verdict
}

// Match is what a rule matches, without its verdict: the key of a deny
// entry. Comparable; Rule.Match gives the canonical form.
type Match struct {
	Prefix   netip.Prefix // invalid: any address
	Port     uint16
	Protocol Protocol
}

// Match returns what r matches, canonical: the prefix masked, an
// IPv4-mapped prefix unmapped.
func (r Rule) Match() Match {
	return Match{Prefix: canonical(r.Prefix), Port: r.Port, Protocol: r.Protocol}
}

func canonical(p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}

// covers reports whether every connection that matches o matches m.
func (m Match) covers(o Match) bool {
	if m.Protocol != o.Protocol || m.Port != o.Port {
		return false
	}
	if !m.Prefix.IsValid() {
		return true
	}
	return o.Prefix.IsValid() && o.Prefix.Addr().Is4() == m.Prefix.Addr().Is4() &&
		m.Prefix.Bits() <= o.Prefix.Bits() && m.Prefix.Contains(o.Prefix.Addr())
}

// RuleFor returns the index in rules of the rule that made a decision of
// policy whose record named m (MatchedRule): the most specific rule of that
// policy, in m's enforce or monitor set as enforced says, that covers m.
// Entries carry the verdicts of the wider prefixes that contain them, so m
// may be a narrower rule of another policy. -1 when none does (the rules
// changed since).
func RuleFor(rules []Rule, m Match, policy int, enforced bool) int {
	best, bestBits := -1, -1
	for i, r := range rules {
		set := r.Verdict.Monitor
		if enforced {
			set = r.Verdict.Enforce
		}
		if policy < 0 || policy >= pinned.MaxPolicies || set&(1<<policy) == 0 {
			continue
		}
		rm := r.Match()
		if !rm.covers(m) {
			continue
		}
		bits := 0
		if rm.Prefix.IsValid() {
			bits = rm.Prefix.Bits()
		}
		if bits > bestBits {
			best, bestBits = i, bits
		}
	}
	return best
}

// entries are a compiled rule set: the deny entries of one family, keyed by
// their canonical Match (always a valid prefix of that family).
type entries map[Match]pinned.Verdict

// compiled is a rule set as the kernel holds it.
type compiled struct {
	v4             map[netguardNetKey4]netguardNetEntry
	v6             map[netguardNetKey6]netguardNetEntry
	ports4, ports6 netguardNetPortBits
}

// compile turns rules into deny entries: an any-address rule into one
// entry per family, rules with the same key merged, and each entry's
// verdict folded with those of the shorter prefixes (same protocol and
// port) that contain it, because the trie answers only the longest match.
func compile(rules []Rule) (*compiled, error) {
	fam4, fam6 := entries{}, entries{}
	for i, r := range rules {
		if r.Protocol != ProtocolAny && r.Protocol != ProtocolTCP && r.Protocol != ProtocolUDP {
			return nil, fmt.Errorf("rule %d: protocol %d: want any, tcp or udp", i, r.Protocol)
		}
		if r.Verdict.Enforce|r.Verdict.Monitor == 0 {
			continue // no policy holds it
		}
		m := r.Match()
		if !m.Prefix.IsValid() {
			for _, p := range []netip.Prefix{netip.PrefixFrom(netip.IPv4Unspecified(), 0), netip.PrefixFrom(netip.IPv6Unspecified(), 0)} {
				m.Prefix = p
				add(fam4, fam6, m, r.Verdict)
			}
			continue
		}
		add(fam4, fam6, m, r.Verdict)
	}
	c := &compiled{
		v4: make(map[netguardNetKey4]netguardNetEntry),
		v6: make(map[netguardNetKey6]netguardNetEntry),
	}
	for m, v := range fold(fam4) {
		k := netguardNetKey4{Prefixlen: keyHeadBits + uint32(m.Prefix.Bits()), Proto: uint8(m.Protocol), Port: htons(m.Port), Addr: m.Prefix.Addr().As4()}
		c.v4[k] = entry(v, m.Prefix.Bits())
		c.ports4.set(m)
	}
	for m, v := range fold(fam6) {
		k := netguardNetKey6{Prefixlen: keyHeadBits + uint32(m.Prefix.Bits()), Proto: uint8(m.Protocol), Port: htons(m.Port), Addr: m.Prefix.Addr().As16()}
		c.v6[k] = entry(v, m.Prefix.Bits())
		c.ports6.set(m)
	}
	return c, nil
}

// keyHeadBits is NET_KEY_HEAD_BITS: protocol, pad and port.
const keyHeadBits = 32

func add(fam4, fam6 entries, m Match, v pinned.Verdict) {
	fam := fam6
	if m.Prefix.Addr().Is4() {
		fam = fam4
	}
	old := fam[m]
	fam[m] = pinned.Verdict{Enforce: old.Enforce | v.Enforce, Monitor: old.Monitor | v.Monitor}
}

func fold(es entries) entries {
	out := make(entries, len(es))
	for m, v := range es {
		for bits := m.Prefix.Bits() - 1; bits >= 0; bits-- {
			wider := m
			wider.Prefix = netip.PrefixFrom(m.Prefix.Addr(), bits).Masked()
			if w, ok := es[wider]; ok {
				v.Enforce |= w.Enforce
				v.Monitor |= w.Monitor
			}
		}
		out[m] = v
	}
	return out
}

func entry(v pinned.Verdict, bits int) netguardNetEntry {
	var e netguardNetEntry
	e.Verdict.Enforce, e.Verdict.Monitor = v.Enforce, v.Monitor
	e.Bits = uint32(bits)
	return e
}

func htons(p uint16) uint16 { return p<<8 | p>>8 }

// set marks m's (protocol, port) class as populated; port 0 is the
// any-port bit.
func (b *netguardNetPortBits) set(m Match) {
	w := b.words(m.Protocol)
	w[m.Port>>6] |= 1 << (m.Port & 63)
}

func (b *netguardNetPortBits) words(p Protocol) *[1024]uint64 {
	switch p {
	case ProtocolTCP:
		return &b.Tcp
	case ProtocolUDP:
		return &b.Udp
	}
	return &b.Any
}

func (b *netguardNetPortBits) or(o *netguardNetPortBits) netguardNetPortBits {
	out := *b
	for i := range out.Any {
		out.Any[i] |= o.Any[i]
		out.Tcp[i] |= o.Tcp[i]
		out.Udp[i] |= o.Udp[i]
	}
	return out
}

// SetConnectRules makes the connect and sendmsg deny tables hold exactly
// rules.
func (g *Guard) SetConnectRules(rules []Rule) error {
	return g.set(rules, &g.connect, g.objs.Deny4, g.objs.Deny6, netguardNetTableNET_TABLE_CONNECT4, netguardNetTableNET_TABLE_CONNECT6)
}

// SetBindRules makes the bind deny tables hold exactly rules.
func (g *Guard) SetBindRules(rules []Rule) error {
	return g.set(rules, &g.bind, g.objs.BindDeny4, g.objs.BindDeny6, netguardNetTableNET_TABLE_BIND4, netguardNetTableNET_TABLE_BIND6)
}

// set reconciles one pair of tables. An entry is looked up only while its
// class bit is set, so the bits are first widened to old ∪ new, the
// entries then rewritten (only what differs), and the bits narrowed to new
// last: no entry that stays is ever skipped. Each phase only ever adds
// bits (then only removes them), so a reader sees no torn word that lacks
// a bit both sides have. The first call reads the tables (an earlier
// agent's entries); later ones diff against what the last call wrote, so
// that entries that stay are neither read nor written (an intel source's
// refresh writes its own changes, not the other sources' million).
func (g *Guard) set(rules []Rule, last **compiled, m4, m6 *ebpf.Map, t4, t6 netguardNetTable) error {
	c, err := compile(rules)
	if err != nil {
		return err
	}
	prev := *last
	*last = nil // unknown until this call succeeds
	var old4, old6 netguardNetPortBits
	if err := g.objs.Ports.Lookup(uint32(t4), &old4); err != nil {
		return fmt.Errorf("read net_ports: %w", err)
	}
	if err := g.objs.Ports.Lookup(uint32(t6), &old6); err != nil {
		return fmt.Errorf("read net_ports: %w", err)
	}
	if err := g.writePorts(t4, old4.or(&c.ports4), t6, old6.or(&c.ports6)); err != nil {
		return err
	}
	if prev != nil {
		err = errors.Join(pinned.ReconcileFrom(m4, prev.v4, c.v4), pinned.ReconcileFrom(m6, prev.v6, c.v6))
	} else {
		err = errors.Join(pinned.Reconcile(m4, c.v4), pinned.Reconcile(m6, c.v6))
	}
	if err != nil {
		return err
	}
	if err := g.writePorts(t4, c.ports4, t6, c.ports6); err != nil {
		return err
	}
	*last = c
	return nil
}

func (g *Guard) writePorts(t4 netguardNetTable, p4 netguardNetPortBits, t6 netguardNetTable, p6 netguardNetPortBits) error {
	if err := g.objs.Ports.Update(uint32(t4), &p4, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("write net_ports: %w", err)
	}
	if err := g.objs.Ports.Update(uint32(t6), &p6, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("write net_ports: %w", err)
	}
	return nil
}
