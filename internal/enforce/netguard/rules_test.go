package netguard

import (
	"net/netip"
	"testing"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
)

func key4(prefix string, proto Protocol, port uint16) netguardNetKey4 {
	p := netip.MustParsePrefix(prefix)
	return netguardNetKey4{Prefixlen: keyHeadBits + uint32(p.Bits()), Proto: uint8(proto), Port: htons(port), Addr: p.Addr().As4()}
}

func TestCompileFoldsWiderPrefixes(t *testing.T) {
	a, b, c := pinned.Verdict{Enforce: 1}, pinned.Verdict{Monitor: 2}, pinned.Verdict{Enforce: 4}
	got, err := compile([]Rule{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Verdict: a},
		{Prefix: netip.MustParsePrefix("10.1.2.3/16"), Verdict: b}, // masked to 10.1.0.0/16
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Port: 443, Protocol: ProtocolTCP, Verdict: c},
		{Prefix: netip.MustParsePrefix("11.0.0.0/8"), Verdict: pinned.Verdict{}}, // no policy: no entry
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[netguardNetKey4]netguardNetEntry{
		key4("10.0.0.0/8", ProtocolAny, 0):    entry(a, 8),
		key4("10.1.0.0/16", ProtocolAny, 0):   entry(pinned.Verdict{Enforce: 1, Monitor: 2}, 16),
		key4("10.1.0.0/16", ProtocolTCP, 443): entry(c, 16), // another class: merged in the kernel
	}
	if len(got.v4) != len(want) || len(got.v6) != 0 {
		t.Fatalf("compiled %v / %v, want %v", got.v4, got.v6, want)
	}
	for k, v := range want {
		if got.v4[k] != v {
			t.Errorf("entry %+v = %+v, want %+v", k, got.v4[k], v)
		}
	}
	if !bit(&got.ports4.Any, 0) || !bit(&got.ports4.Tcp, 443) || bit(&got.ports4.Tcp, 0) || bit(&got.ports4.Udp, 443) {
		t.Error("port bits do not say which classes have entries")
	}
}

func bit(w *[1024]uint64, port uint16) bool { return w[port>>6]&(1<<(port&63)) != 0 }

func TestCompileAnyAddressAndMapped(t *testing.T) {
	v := pinned.Verdict{Enforce: 1}
	got, err := compile([]Rule{
		{Port: 22, Protocol: ProtocolTCP, Verdict: v}, // any address: both families
		{Prefix: netip.MustParsePrefix("::ffff:192.168.0.0/112"), Verdict: v},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.v4[key4("0.0.0.0/0", ProtocolTCP, 22)]; !ok {
		t.Error("no IPv4 entry for an any-address rule")
	}
	if _, ok := got.v4[key4("192.168.0.0/16", ProtocolAny, 0)]; !ok {
		t.Errorf("a mapped prefix is not the IPv4 rule: %v", got.v4)
	}
	k6 := netguardNetKey6{Prefixlen: keyHeadBits, Proto: uint8(ProtocolTCP), Port: htons(22)}
	if len(got.v6) != 1 || got.v6[k6] != entry(v, 0) {
		t.Errorf("IPv6 entries %v, want only ::/0 tcp/22", got.v6)
	}
	if !bit(&got.ports6.Tcp, 22) || bit(&got.ports6.Any, 0) {
		t.Error("IPv6 port bits wrong")
	}
}

func TestCompileRefusesUnknownProtocol(t *testing.T) {
	if _, err := compile([]Rule{{Protocol: 1, Verdict: pinned.Verdict{Enforce: 1}}}); err == nil {
		t.Error("protocol 1 (icmp) accepted")
	}
}

func TestParseProtocol(t *testing.T) {
	for s, want := range map[string]Protocol{"": ProtocolAny, "any": ProtocolAny, "tcp": ProtocolTCP, "udp": ProtocolUDP} {
		if got, err := ParseProtocol(s); err != nil || got != want || (s != "" && got.String() != s) {
			t.Errorf("ParseProtocol(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseProtocol("icmp"); err == nil {
		t.Error("icmp accepted")
	}
}

func TestRuleFor(t *testing.T) {
	rules := []Rule{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Verdict: pinned.Verdict{Enforce: 1 << 3}},
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Verdict: pinned.Verdict{Enforce: 1 << 3, Monitor: 1 << 4}},
		{Port: 53, Protocol: ProtocolUDP, Verdict: pinned.Verdict{Enforce: 1 << 3}},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Verdict: pinned.Verdict{Monitor: 1 << 4}},
	}
	m := func(prefix string, port uint16, p Protocol) Match {
		return Match{Prefix: netip.MustParsePrefix(prefix), Port: port, Protocol: p}
	}
	for _, c := range []struct {
		m        Match
		policy   int
		enforced bool
		want     int
	}{
		{m("10.1.0.0/16", 0, ProtocolAny), 3, true, 1},  // the most specific of policy 3
		{m("10.1.0.0/16", 0, ProtocolAny), 4, false, 1}, // policy 4 monitors it
		{m("10.1.0.0/16", 0, ProtocolAny), 4, true, -1}, // but does not enforce it
		{m("10.2.0.0/16", 0, ProtocolAny), 3, true, 0},  // a narrower entry of another policy
		{m("0.0.0.0/0", 53, ProtocolUDP), 3, true, 2},   // an any-address rule, IPv4 side
		{m("::/0", 53, ProtocolUDP), 3, true, 2},        // and IPv6 side
		{m("10.1.0.0/16", 53, ProtocolUDP), 3, true, 2}, // another class than the /16's
		{m("2001:db8::/48", 0, ProtocolAny), 4, false, 3},
		{m("10.0.0.0/8", 0, ProtocolAny), 64, true, -1},
	} {
		if got := RuleFor(rules, c.m, c.policy, c.enforced); got != c.want {
			t.Errorf("RuleFor(%+v, %d, %v) = %d, want %d", c.m, c.policy, c.enforced, got, c.want)
		}
	}
}

func TestRuleMatchIsCanonical(t *testing.T) {
	r := Rule{Prefix: netip.MustParsePrefix("::ffff:10.1.2.3/104"), Port: 80}
	if got, want := r.Match(), (Match{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Port: 80}); got != want {
		t.Errorf("Match() = %+v, want %+v", got, want)
	}
}
