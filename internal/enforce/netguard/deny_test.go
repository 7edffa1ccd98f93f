package netguard

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
)

func call(op, network string, ap netip.AddrPort) string {
	return fmt.Sprintf("%s:%s:%s", op, network, ap)
}

// want is what a record must say.
type want struct {
	kind   event.Kind
	sc     string
	hook   string
	family string
	proto  string
	addr   netip.AddrPort
	action event.Action
	match  Match
	rule   int // the index RuleFor must find
}

func (e *env) checkRecord(t *testing.T, pid int, rules []Rule, w want) {
	t.Helper()
	recs := records(t, e.col, pid, 1)
	ev, m := decode(t, recs[0])
	if ev.Kind != w.kind || ev.Syscall == nil || ev.Syscall.Name != w.sc {
		t.Errorf("kind %s syscall %+v, want %s by %s", ev.Kind, ev.Syscall, w.kind, w.sc)
	}
	if p := ev.Process; p == nil || p.PID != uint32(pid) || p.TID == 0 || p.Cgroup.ID != e.CgroupID {
		t.Errorf("process %+v, want pid %d in cgroup %d", ev.Process, pid, e.CgroupID)
	}
	result, wantRet := "EPERM", int64(-1)
	if w.action == event.ActionWouldDeny {
		result, wantRet = "success", 0
	}
	if ev.Syscall.Ret != wantRet {
		t.Errorf("syscall ret %d, want %d", ev.Syscall.Ret, wantRet)
	}
	n := ev.Network
	addr, port := n.DAddr, n.DPort
	if w.kind == event.KindNetBind {
		addr, port = n.SAddr, n.SPort
	}
	if n.Family != w.family || n.Protocol != w.proto || addr != w.addr.Addr().String() || port != w.addr.Port() || n.Result != result {
		t.Errorf("network %+v, want %s %s %s result %s", *n, w.family, w.proto, w.addr, result)
	}
	en := ev.Enforcement
	if en == nil || en.PolicyID != testPolicy || en.Action != w.action || en.Mechanism != "kernel" || en.Hook != w.hook {
		t.Errorf("enforcement %+v, want policy %d %s kernel %s", en, testPolicy, w.action, w.hook)
	}
	if m != w.match {
		t.Errorf("matched %+v, want %+v", m, w.match)
	}
	if got := RuleFor(rules, m, testPolicy, w.action == event.ActionDenied); got != w.rule {
		t.Errorf("RuleFor = %d, want %d", got, w.rule)
	}
}

// TestDenyAtRoot runs the programs as the agent does, attached to the
// cgroup2 root for the whole host, with the policy scoped to a test cgroup:
// calls from inside it are refused, the same calls from outside are not.
func TestDenyAtRoot(t *testing.T) {
	e := newEnv(t, true)
	p := e.peers
	any := netip.Prefix{}

	t.Run("tcp4", func(t *testing.T) {
		rules := []Rule{{Prefix: host(p.tcp4), Port: p.tcp4.Port(), Protocol: ProtocolTCP, Verdict: enforce}}
		e.connectRules(rules...)
		before := e.hits(pinned.ActionDenied)
		pid := expect(t, &e.Cgroup, map[string]string{
			call("connect", "tcp4", p.tcp4):  "EPERM",
			call("connect", "tcp4", p.tcp4b): "ok", // another port
		})
		expect(t, nil, map[string]string{call("connect", "tcp4", p.tcp4): "ok"})
		e.checkRecord(t, pid, rules, want{event.KindNetConnect, "connect", "cgroup/connect4", "inet", "tcp",
			p.tcp4, event.ActionDenied, rules[0].Match(), 0})
		if got := e.hits(pinned.ActionDenied) - before; got != 1 {
			t.Errorf("%d denied hits counted, want 1", got)
		}
	})

	t.Run("udp", func(t *testing.T) {
		rules := []Rule{{Prefix: host(p.udp4), Port: p.udp4.Port(), Protocol: ProtocolUDP, Verdict: enforce}}
		e.connectRules(rules...)
		pid := expect(t, &e.Cgroup, map[string]string{call("sendto", "udp4", p.udp4): "EPERM"})
		e.checkRecord(t, pid, rules, want{event.KindNetConnect, "sendmsg", "cgroup/sendmsg4", "inet", "udp",
			p.udp4, event.ActionDenied, rules[0].Match(), 0})
		pid = expect(t, &e.Cgroup, map[string]string{call("connect", "udp4", p.udp4): "EPERM"})
		e.checkRecord(t, pid, rules, want{event.KindNetConnect, "connect", "cgroup/connect4", "inet", "udp",
			p.udp4, event.ActionDenied, rules[0].Match(), 0})
		expect(t, nil, map[string]string{call("sendto", "udp4", p.udp4): "ok", call("connect", "udp4", p.udp4): "ok"})
	})

	t.Run("ipv6", func(t *testing.T) {
		rules := []Rule{
			{Prefix: host(p.tcp6), Port: p.tcp6.Port(), Protocol: ProtocolTCP, Verdict: enforce},
			{Prefix: host(p.udp6), Port: p.udp6.Port(), Protocol: ProtocolUDP, Verdict: enforce},
		}
		e.connectRules(rules...)
		pid := expect(t, &e.Cgroup, map[string]string{call("connect", "tcp6", p.tcp6): "EPERM"})
		e.checkRecord(t, pid, rules, want{event.KindNetConnect, "connect", "cgroup/connect6", "inet6", "tcp",
			p.tcp6, event.ActionDenied, rules[0].Match(), 0})
		pid = expect(t, &e.Cgroup, map[string]string{call("sendto", "udp6", p.udp6): "EPERM"})
		e.checkRecord(t, pid, rules, want{event.KindNetConnect, "sendmsg", "cgroup/sendmsg6", "inet6", "udp",
			p.udp6, event.ActionDenied, rules[1].Match(), 1})
		expect(t, nil, map[string]string{call("connect", "tcp6", p.tcp6): "ok", call("sendto", "udp6", p.udp6): "ok"})
	})

	// an IPv6 socket reaching an IPv4 peer through ::ffff:a.b.c.d runs no
	// IPv4 hook: the IPv4 rules must be applied at the IPv6 hooks
	t.Run("v4_mapped", func(t *testing.T) {
		rules := []Rule{
			{Prefix: host(p.tcp4), Port: p.tcp4.Port(), Protocol: ProtocolTCP, Verdict: enforce},
			{Prefix: host(p.udp4), Port: p.udp4.Port(), Protocol: ProtocolUDP, Verdict: enforce},
		}
		e.connectRules(rules...)
		pid := expect(t, &e.Cgroup, map[string]string{call("connect", "tcp6", mapped(p.tcp4)): "EPERM"})
		e.checkRecord(t, pid, rules, want{event.KindNetConnect, "connect", "cgroup/connect6", "inet6", "tcp",
			mapped(p.tcp4), event.ActionDenied, rules[0].Match(), 0})
		// udpv6_sendmsg hands a mapped destination to the IPv4 path, so
		// sendmsg4 decides, for an IPv6 socket
		pid = expect(t, &e.Cgroup, map[string]string{call("sendto", "udp6", mapped(p.udp4)): "EPERM"})
		e.checkRecord(t, pid, rules, want{event.KindNetConnect, "sendmsg", "cgroup/sendmsg4", "inet6", "udp",
			mapped(p.udp4), event.ActionDenied, rules[1].Match(), 1})
		expect(t, &e.Cgroup, map[string]string{call("connect", "udp6", mapped(p.udp4)): "EPERM"})
		expect(t, nil, map[string]string{
			call("connect", "tcp6", mapped(p.tcp4)): "ok",
			call("sendto", "udp6", mapped(p.udp4)):  "ok",
		})
		// and a rule written as a mapped prefix is the IPv4 rule
		e.connectRules(Rule{Prefix: netip.PrefixFrom(mapped(p.tcp4).Addr(), 128), Verdict: enforce})
		expect(t, &e.Cgroup, map[string]string{
			call("connect", "tcp4", p.tcp4):         "EPERM",
			call("connect", "tcp6", mapped(p.tcp4)): "EPERM",
			call("connect", "tcp6", p.tcp6):         "ok",
		})
	})

	t.Run("port_only", func(t *testing.T) {
		rules := []Rule{{Prefix: any, Port: p.tcp4.Port(), Protocol: ProtocolTCP, Verdict: enforce}}
		e.connectRules(rules...)
		v6 := netip.AddrPortFrom(p.tcp6.Addr(), p.tcp4.Port())
		pid := expect(t, &e.Cgroup, map[string]string{call("connect", "tcp6", v6): "EPERM"})
		e.checkRecord(t, pid, rules, want{event.KindNetConnect, "connect", "cgroup/connect6", "inet6", "tcp",
			v6, event.ActionDenied, Match{Prefix: netip.MustParsePrefix("::/0"), Port: p.tcp4.Port(), Protocol: ProtocolTCP}, 0})
		expect(t, &e.Cgroup, map[string]string{
			call("connect", "tcp4", p.tcp4):  "EPERM",
			call("connect", "tcp4", p.tcp4b): "ok",
			call("connect", "udp4", p.tcp4):  "ok", // the rule is TCP's
		})
	})

	t.Run("cidr_only", func(t *testing.T) {
		rules := []Rule{{Prefix: netip.MustParsePrefix("127.0.0.2/31"), Verdict: enforce}}
		e.connectRules(rules...)
		pid := expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4alt): "EPERM"})
		e.checkRecord(t, pid, rules, want{event.KindNetConnect, "connect", "cgroup/connect4", "inet", "tcp",
			p.tcp4alt, event.ActionDenied, rules[0].Match(), 0})
		expect(t, &e.Cgroup, map[string]string{
			call("sendto", "udp4", netip.AddrPortFrom(p.tcp4alt.Addr(), 9)): "EPERM", // any port, any protocol
			call("connect", "tcp4", p.tcp4):                                 "ok",
		})
		expect(t, nil, map[string]string{call("connect", "tcp4", p.tcp4alt): "ok"})
	})

	t.Run("protocol", func(t *testing.T) {
		e.connectRules(Rule{Prefix: host(p.tcp4), Protocol: ProtocolUDP, Verdict: enforce})
		expect(t, &e.Cgroup, map[string]string{
			call("connect", "tcp4", p.tcp4): "ok",
			call("connect", "udp4", p.tcp4): "EPERM",
		})
	})

	t.Run("monitor", func(t *testing.T) {
		rules := []Rule{{Prefix: host(p.tcp4), Port: p.tcp4.Port(), Protocol: ProtocolTCP, Verdict: monitor}}
		e.connectRules(rules...)
		before := e.hits(pinned.ActionWouldDeny)
		pid := expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "ok"})
		e.checkRecord(t, pid, rules, want{event.KindNetConnect, "connect", "cgroup/connect4", "inet", "tcp",
			p.tcp4, event.ActionWouldDeny, rules[0].Match(), 0})
		if got := e.hits(pinned.ActionWouldDeny) - before; got != 1 {
			t.Errorf("%d would_deny hits counted, want 1", got)
		}
	})

	// A monitoring entry must not hide an enforcing one: not in another
	// class (its verdicts are merged), not as a longer prefix of the same
	// class (the entry carries the wider prefix's verdict).
	t.Run("enforce_beats_monitor", func(t *testing.T) {
		rules := []Rule{
			{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Verdict: enforce},
			{Prefix: host(p.tcp4), Port: p.tcp4.Port(), Protocol: ProtocolTCP, Verdict: monitor},
			{Prefix: host(p.tcp4alt), Verdict: pinned.Verdict{Monitor: 1 << (testPolicy + 1)}},
		}
		e.connectRules(rules...)
		pid := expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "EPERM"})
		e.checkRecord(t, pid, rules, want{event.KindNetConnect, "connect", "cgroup/connect4", "inet", "tcp",
			p.tcp4, event.ActionDenied, rules[0].Match(), 0})
		pid = expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4alt): "EPERM"})
		// the entry that matched is the narrower one; RuleFor names the /8
		e.checkRecord(t, pid, rules, want{event.KindNetConnect, "connect", "cgroup/connect4", "inet", "tcp",
			p.tcp4alt, event.ActionDenied, Match{Prefix: host(p.tcp4alt)}, 0})
	})

	t.Run("bind", func(t *testing.T) {
		e.connectRules()
		port := freePort(t)
		rules := []Rule{{Prefix: any, Port: port, Protocol: ProtocolTCP, Verdict: enforce}}
		e.bindRules(rules...)
		at := netip.AddrPortFrom(p.tcp4.Addr(), port)
		pid := expect(t, &e.Cgroup, map[string]string{call("bind", "tcp4", at): "EPERM"})
		e.checkRecord(t, pid, rules, want{event.KindNetBind, "bind", "cgroup/bind4", "inet", "tcp",
			at, event.ActionDenied, Match{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Port: port, Protocol: ProtocolTCP}, 0})
		expect(t, &e.Cgroup, map[string]string{
			call("bind", "tcp6", netip.AddrPortFrom(p.tcp6.Addr(), port)): "EPERM",
			call("bind", "tcp6", mapped(at)):                              "EPERM",
			call("bind", "tcp4", netip.AddrPortFrom(p.tcp4.Addr(), 0)):    "ok",
			call("bind", "udp4", at):                                      "ok",
			call("connect", "tcp4", p.tcp4):                               "ok", // bind rules are not connect rules
		})
		expect(t, nil, map[string]string{call("bind", "tcp4", at): "ok"})
		e.bindRules()
		expect(t, &e.Cgroup, map[string]string{call("bind", "tcp4", at): "ok"})
	})

	t.Run("exempt", func(t *testing.T) {
		e.connectRules(Rule{Prefix: host(p.tcp4), Verdict: enforce})
		before := e.hits(pinned.ActionDenied)
		defer e.State.SetExempt(nil)
		res := enforcetest.RunGated(t, helperCmd(t, &e.Cgroup, "wait", call("connect", "tcp4", p.tcp4)), func(pid int) {
			if err := e.State.SetExempt([]uint32{uint32(pid)}); err != nil {
				t.Fatal(err)
			}
		})
		if !res.Success() {
			t.Fatal(res)
		}
		if res.Out != "ok\n" {
			t.Errorf("exempt process: connect %q, want ok", res.Out)
		}
		records(t, e.col, res.PID, 0)
		if got := e.hits(pinned.ActionDenied) - before; got != 0 {
			t.Errorf("%d denied hits for an exempt process", got)
		}
	})

	t.Run("reconcile", func(t *testing.T) {
		e.connectRules(Rule{Prefix: host(p.tcp4), Port: p.tcp4.Port(), Verdict: enforce})
		expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "EPERM", call("connect", "tcp4", p.tcp4b): "ok"})
		e.connectRules(Rule{Prefix: host(p.tcp4b), Port: p.tcp4b.Port(), Verdict: enforce})
		expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "ok", call("connect", "tcp4", p.tcp4b): "EPERM"})
		e.connectRules()
		expect(t, &e.Cgroup, map[string]string{call("connect", "tcp4", p.tcp4): "ok", call("connect", "tcp4", p.tcp4b): "ok"})
		if n := countEntries(t, e.guard); n != 0 {
			t.Errorf("%d entries left after SetConnectRules(nil)", n)
		}
	})

	t.Run("tcp_fast_open", func(t *testing.T) {
		e.connectRules(Rule{Prefix: host(p.tcp4), Port: p.tcp4.Port(), Protocol: ProtocolTCP, Verdict: enforce})
		expect(t, &e.Cgroup, map[string]string{call("fastopen", "tcp4", p.tcp4): "EPERM"})
	})
}

// freePort is a TCP port nothing on loopback is bound to now.
func freePort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).AddrPort().Port()
}

// countEntries is how many entries the connect tables hold; it fails the
// test when a port bit is left set.
func countEntries(t *testing.T, g *Guard) int {
	t.Helper()
	n := 0
	var k4 netguardNetKey4
	var k6 netguardNetKey6
	var v netguardNetEntry
	for it := g.objs.Deny4.Iterate(); it.Next(&k4, &v); {
		n++
	}
	for it := g.objs.Deny6.Iterate(); it.Next(&k6, &v); {
		n++
	}
	for _, table := range []netguardNetTable{netguardNetTableNET_TABLE_CONNECT4, netguardNetTableNET_TABLE_CONNECT6} {
		var bits netguardNetPortBits
		if err := g.objs.Ports.Lookup(uint32(table), &bits); err != nil {
			t.Fatal(err)
		}
		if bits != (netguardNetPortBits{}) {
			t.Errorf("table %d: port bits left set", table)
		}
	}
	return n
}
