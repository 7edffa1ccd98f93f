package xdpguard

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/enforce/xdpguard/testnet"
)

func verdict(enforce, monitor uint64) pinned.Verdict {
	return pinned.Verdict{Enforce: enforce, Monitor: monitor}
}

// TestFold: each entry carries the verdicts of the listed prefixes that
// contain it; duplicates add up; empty verdicts and mapped forms fold in.
func TestFold(t *testing.T) {
	pfx := netip.MustParsePrefix
	got, err := fold([]Source{
		{pfx("10.0.0.0/8"), verdict(1, 0)},
		{pfx("10.1.2.3/32"), verdict(0, 2)},
		{pfx("10.1.0.0/16"), verdict(0, 4)},
		{pfx("10.1.0.0/16"), verdict(8, 0)},          // same prefix: added up
		{pfx("10.9.9.9/8"), verdict(16, 0)},          // masked to 10.0.0.0/8
		{pfx("::ffff:192.0.2.0/120"), verdict(1, 0)}, // IPv4-mapped: 192.0.2.0/24
		{pfx("192.0.2.128/25"), verdict(0, 0)},       // empty: left out
		{pfx("2001:db8::/32"), verdict(0, 1)},
		{pfx("2001:db8:1::/48"), verdict(2, 0)},
		{pfx("11.0.0.0/8"), verdict(0, 1)}, // a sibling, not an ancestor
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Prefix]pinned.Verdict{
		pfx("10.0.0.0/8"):      verdict(17, 0),
		pfx("10.1.0.0/16"):     verdict(25, 4),
		pfx("10.1.2.3/32"):     verdict(25, 6),
		pfx("192.0.2.0/24"):    verdict(1, 0),
		pfx("2001:db8::/32"):   verdict(0, 1),
		pfx("2001:db8:1::/48"): verdict(2, 1),
		pfx("11.0.0.0/8"):      verdict(0, 1),
	}
	if len(got) != len(want) {
		t.Errorf("fold = %v; want %v", got, want)
	}
	for p, v := range want {
		if got[p] != v {
			t.Errorf("fold[%v] = %+v; want %+v", p, got[p], v)
		}
	}
	if _, err := fold([]Source{{Prefix: netip.Prefix{}, Verdict: verdict(1, 0)}}); err == nil {
		t.Error("fold accepted an invalid prefix")
	}
}

// TestSetSources: a prefix keeps its slot and counts while it stays, a
// new one reuses a freed slot with zeroed counts, a monitored prefix
// inside an enforced one is dropped, the slots survive a reload, and more
// prefixes than the tables hold are refused without a change.
func TestSetSources(t *testing.T) {
	g := loadGuard(t, Options{MaxPrefixes: 4})
	pfx := netip.MustParsePrefix
	a, b, c, d := pfx("10.200.0.64/26"), pfx("10.9.0.0/16"), pfx("fd00:200::1:0/112"), pfx("198.51.100.0/24")
	if err := g.SetSources([]Source{enforcing(a), enforcing(b), enforcing(c)}); err != nil {
		t.Fatal(err)
	}
	slots := func() map[netip.Prefix]PrefixStats {
		stats, err := g.Stats()
		if err != nil {
			t.Fatal(err)
		}
		m := make(map[netip.Prefix]PrefixStats)
		for _, s := range stats {
			m[s.Prefix] = s
		}
		return m
	}
	before := slots()
	if x, _ := run(t, g, frame(testnet.Blocked4), false); !x {
		t.Fatal("a listed source was not dropped")
	}
	if x, _ := run(t, g, frame(netip.MustParseAddr("10.9.1.1")), false); !x {
		t.Fatal("a listed source was not dropped")
	}

	// a goes, d comes: b and c keep their slots and counts, d takes a's
	// freed slot with nothing counted
	if err := g.SetSources([]Source{enforcing(b), enforcing(c), enforcing(d)}); err != nil {
		t.Fatal(err)
	}
	after := slots()
	if len(after) != 3 {
		t.Fatalf("entries = %v; want b, c, d", after)
	}
	for _, p := range []netip.Prefix{b, c} {
		if after[p].Index != before[p].Index {
			t.Errorf("%v moved from slot %d to %d", p, before[p].Index, after[p].Index)
		}
	}
	if after[b].Packets != 2 { // the XDP and the tc run
		t.Errorf("%v counts = %+v; want its 2 packets kept", b, after[b].Counts)
	}
	if after[d].Index != before[a].Index || after[d].Counts != (Counts{}) {
		t.Errorf("%v = %+v; want slot %d, zeroed", d, after[d], before[a].Index)
	}
	if x, _ := run(t, g, frame(testnet.Blocked4), false); x {
		t.Error("a source no longer listed is still dropped")
	}
	for p, s := range after {
		if one, err := g.StatsOf(p); err != nil || one != s {
			t.Errorf("StatsOf(%v) = %+v, %v; want %+v as Stats has it", p, one, err, s)
		}
	}
	for _, p := range []netip.Prefix{a, pfx("10.9.1.0/24"), pfx("10.9.0.0/15")} {
		if _, err := g.StatsOf(p); !errors.Is(err, ErrNotListed) {
			t.Errorf("StatsOf(%v) = %v; want ErrNotListed", p, err)
		}
	}

	// a verdict change is written in place; a monitored /32 inside an
	// enforced /16 is still dropped
	inner := pfx("10.9.1.1/32")
	monitored := Source{Prefix: inner, Verdict: verdict(0, 1<<monitorPol)}
	if err := g.SetSources([]Source{enforcing(b), {Prefix: c, Verdict: verdict(0, 1)}, monitored}); err != nil {
		t.Fatal(err)
	}
	now := slots()
	if now[c].Index != before[c].Index || now[c].Verdict != verdict(0, 1) {
		t.Errorf("%v = %+v; want slot %d with the monitor verdict", c, now[c], before[c].Index)
	}
	if now[inner].Verdict != verdict(1<<blockPol, 1<<monitorPol) {
		t.Errorf("%v verdict = %+v; want the enclosing enforce bit too", inner, now[inner].Verdict)
	}
	if x, _ := run(t, g, frame(netip.MustParseAddr("10.9.1.1")), false); !x {
		t.Error("a monitored address inside an enforced prefix passed")
	}

	// too many: refused, nothing changed
	five := []Source{enforcing(a), enforcing(b), enforcing(c), enforcing(d), enforcing(pfx("203.0.113.0/24"))}
	if err := g.SetSources(five); !errors.Is(err, ErrTooManySources) {
		t.Errorf("SetSources of 5 into 4 = %v; want ErrTooManySources", err)
	}
	now = slots()
	if len(now) != 3 || now[inner].Packets != 2 {
		t.Errorf("after a refused SetSources: %v; want the 3 entries as they were", now)
	}

	// a reloaded Guard (a restarted agent) finds the same slots
	again := loadGuard(t, Options{PinDir: g.dir, MaxPrefixes: 4})
	stats, err := again.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		if s.Index != now[s.Prefix].Index || s.Counts != now[s.Prefix].Counts {
			t.Errorf("after reload %v = %+v; want %+v", s.Prefix, s, now[s.Prefix])
		}
	}
}

// TestClassBits: the classes a prefix touches.
func TestClassBits(t *testing.T) {
	count := func(c *classes, family int) int {
		n := 0
		for _, w := range c[family] {
			for ; w != 0; w &= w - 1 {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		prefix string
		v4, v6 int
	}{
		{"10.200.0.64/26", 1, 0},
		{"10.200.0.0/16", 1, 0},
		{"10.0.0.0/8", 256, 0},
		{"0.0.0.0/0", 65536, 0},
		{"2001:db8::/48", 0, 1},
		{"2001:db8::/30", 0, 4},
		{"2000::/3", 0, 65536},
	} {
		var cl classes
		cl.add(netip.MustParsePrefix(c.prefix))
		if a, b := count(&cl, familyV4), count(&cl, familyV6); a != c.v4 || b != c.v6 {
			t.Errorf("%s: %d IPv4 and %d IPv6 classes; want %d and %d", c.prefix, a, b, c.v4, c.v6)
		}
	}
}

// TestClassFilter: prefixes spanning several classes drop in every one of
// them, the kernel's class bits are exactly those the listed prefixes
// need, and a class whose prefixes are gone is cleared.
func TestClassFilter(t *testing.T) {
	g := loadGuard(t, Options{})
	addr := netip.MustParseAddr
	check := func(want []netip.Prefix, drops, passes []string) {
		t.Helper()
		var sources []Source
		m := map[netip.Prefix]bool{}
		for _, p := range want {
			sources = append(sources, enforcing(p))
			m[p] = true
		}
		if err := g.SetSources(sources); err != nil {
			t.Fatal(err)
		}
		for _, list := range []struct {
			addrs []string
			drop  bool
		}{{drops, true}, {passes, false}} {
			for _, a := range list.addrs {
				if x, tc := run(t, g, frame(addr(a)), false); x != list.drop || tc != list.drop {
					t.Errorf("%s with %v listed: xdp dropped %v, tc %v; want %v", a, want, x, tc, list.drop)
				}
			}
		}
		got, err := g.readClasses()
		if err != nil {
			t.Fatal(err)
		}
		if *got != *classesOf(m) {
			t.Errorf("class bits with %v listed differ from what they need", want)
		}
	}
	pfx := netip.MustParsePrefix
	check([]netip.Prefix{pfx("172.16.0.0/12"), pfx("2001:db8::/29")},
		[]string{"172.16.0.1", "172.31.255.1", "2001:db8::1", "2001:dbf:ffff::1"},
		[]string{"172.32.0.1", "172.15.255.255", "2001:dc0::1", "2a00::1"})
	check([]netip.Prefix{pfx("2a00::/12")},
		[]string{"2a00::1", "2a0f:ffff::1"},
		[]string{"172.16.0.1", "2001:db8::1", "2a10::1"})
	check(nil, nil, []string{"2a00::1", "172.16.0.1"})
}
