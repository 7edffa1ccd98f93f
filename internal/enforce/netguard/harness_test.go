package netguard

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
)

func TestMain(m *testing.M) { enforcetest.Main(m, envHelper, runHelper) }

// testPolicy is the policy number the tests' rules belong to.
const testPolicy = 7

var (
	enforce = pinned.Verdict{Enforce: 1 << testPolicy}
	monitor = pinned.Verdict{Monitor: 1 << testPolicy}
)

// env is a guard on a private pin directory and ring, with policy
// testPolicy scoped to a test cgroup, and loopback peers to call.
type env struct {
	*enforcetest.Env
	t     *testing.T
	ring  *ring.Ring
	guard *Guard
	col   *enforcetest.Collector
	peers peers
}

// newEnv loads the guard and attaches it to the cgroup2 root (root) or
// to the test cgroup itself.
func newEnv(t *testing.T, root bool) *env {
	t.Helper()
	e := &env{Env: enforcetest.NewEnv(t), t: t}
	e.Scope(1<<testPolicy, 0)
	e.ring = enforcetest.NewRing(t, false)
	e.guard, e.col = e.load(e.ring)
	target := e.Cgroup.Path
	if root {
		target = e.Cgroup.Root
	}
	if err := e.guard.Attach(target); err != nil {
		t.Fatal(err)
	}
	e.peers = newPeers(t)
	return e
}

// load loads a guard on the env's pin directory with r, a ring of its own.
func (e *env) load(r *ring.Ring) (*Guard, *enforcetest.Collector) {
	e.t.Helper()
	c := enforcetest.Collect(e.t, r)
	g, err := Load(Options{PinDir: e.Dir, Ring: r})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { g.Close() })
	c.Start()
	return g, c
}

func (e *env) connectRules(rules ...Rule) {
	e.t.Helper()
	if err := e.guard.SetConnectRules(rules); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) bindRules(rules ...Rule) {
	e.t.Helper()
	if err := e.guard.SetBindRules(rules); err != nil {
		e.t.Fatal(err)
	}
}

// hits is the hit count of testPolicy for action.
func (e *env) hits(a pinned.Action) uint64 {
	e.t.Helper()
	hs, err := e.State.Hits()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range hs {
		if h.Policy == testPolicy && h.Action == a {
			return h.Count
		}
	}
	return 0
}

// records returns the records of pid, which has exited, failing unless
// there are want of them.
func records(t *testing.T, c *enforcetest.Collector, pid, want int) [][]byte {
	t.Helper()
	got := c.Records(pid)
	if len(got) != want {
		t.Fatalf("pid %d: %d records, want %d", pid, len(got), want)
	}
	return got
}

// waitAtLeast waits for n records of pid (a loop that keeps making more).
func waitAtLeast(t *testing.T, c *enforcetest.Collector, pid, n int) {
	t.Helper()
	if !c.WaitFor(pid, n) {
		t.Fatalf("pid %d: fewer than %d records", pid, n)
	}
}

// decode decodes a record (and stores it as a fuzz seed with -capture).
func decode(t *testing.T, raw []byte) (*event.Event, Match) {
	t.Helper()
	d := Decoder{Clock: func(ns uint64) time.Time { return time.Unix(0, int64(ns)) }}
	ev, err := d.Decode(raw)
	if err != nil {
		t.Fatalf("record does not decode: %v\n%q", err, raw)
	}
	m, err := MatchedRule(raw)
	if err != nil {
		t.Fatal(err)
	}
	enforcetest.Seed(t, "FuzzDecode", raw)
	return ev, m
}

// peers are loopback sockets the probes call: TCP listeners that accept
// and close, UDP sockets that receive.
type peers struct {
	tcp4, tcp4b, tcp6, tcp4alt netip.AddrPort // tcp4alt listens on 127.0.0.2
	udp4, udp6                 netip.AddrPort
}

func newPeers(t *testing.T) peers {
	t.Helper()
	var p peers
	p.tcp4 = enforcetest.ListenTCP(t, "127.0.0.1:0")
	p.tcp4b = enforcetest.ListenTCP(t, "127.0.0.1:0")
	p.tcp6 = enforcetest.ListenTCP(t, "[::1]:0")
	p.tcp4alt = enforcetest.ListenTCP(t, "127.0.0.2:0")
	p.udp4 = listenUDP(t, "127.0.0.1:0")
	p.udp6 = listenUDP(t, "[::1]:0")
	return p
}

func listenUDP(t *testing.T, addr string) netip.AddrPort {
	t.Helper()
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// host is the /32 (or /128) of an address.
func host(ap netip.AddrPort) netip.Prefix {
	return netip.PrefixFrom(ap.Addr(), ap.Addr().BitLen())
}

// mapped is ap as an IPv6 socket reaches it: ::ffff:a.b.c.d.
func mapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(ap.Addr().As16()), ap.Port())
}
