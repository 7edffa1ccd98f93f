package xdpguard

import (
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/enforce/netns"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/enforce/xdpguard/testnet"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	sent       = 50
	blockPol   = 3 // an enforcing policy
	monitorPol = 5 // a monitoring one
)

func enforcing(p netip.Prefix) Source {
	return Source{Prefix: p, Verdict: pinned.Verdict{Enforce: 1 << blockPol}}
}

// loadGuard loads a Guard on a fresh pin directory, closed at cleanup.
func loadGuard(t *testing.T, opts Options) *Guard {
	t.Helper()
	testenv.RequirePrivileged(t)
	if opts.PinDir == "" {
		opts.PinDir = testenv.PinDir(t)
	}
	g, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// TestDrop: in each mode, datagrams from the blocked addresses never reach
// the receiver's socket and are all counted (per prefix, per source, per
// policy), those from the allowed addresses all arrive, and Detach lifts
// the drop.
func TestDrop(t *testing.T) {
	for _, mode := range allModes() {
		t.Run(string(mode), func(t *testing.T) {
			g := loadGuard(t, Options{Modes: []Mode{mode}})
			p := newPair(t)
			unrelated := netip.MustParsePrefix("192.0.2.0/24")
			if err := g.SetSources([]Source{enforcing(testnet.List4), enforcing(testnet.List6), enforcing(unrelated)}); err != nil {
				t.Fatal(err)
			}
			got, err := g.AttachIn(p.Receiver, testnet.ReceiverIf)
			if err != nil || got != mode {
				t.Fatalf("AttachIn = %q, %v; want %q", got, err, mode)
			}

			for _, c := range []struct {
				blocked, allowed netip.Addr
				prefix           netip.Prefix
				frame            uint64
			}{{testnet.Blocked4, testnet.Allowed4, testnet.List4, frameLen4}, {testnet.Blocked6, testnet.Allowed6, testnet.List6, frameLen6}} {
				recv := p.exchange(t, sent, c.blocked, c.allowed)
				if recv[c.blocked] != 0 || recv[c.allowed] != sent {
					t.Errorf("received %v; want none from %v and %d from %v", recv, c.blocked, sent, c.allowed)
				}
				s := waitCounts(t, g, c.prefix, sent, 0)
				want := Counts{Packets: sent, Bytes: sent * c.frame}
				if s.Counts != want {
					t.Errorf("%v counts = %+v; want %+v", c.prefix, s.Counts, want)
				}
			}
			if s := statsOf(t, g, unrelated); s.Counts != (Counts{}) {
				t.Errorf("unrelated prefix counted %+v", s.Counts)
			}

			top, err := g.TopSources(10)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				addr   netip.Addr
				prefix netip.Prefix
				frame  uint64
			}{{testnet.Blocked4, testnet.List4, frameLen4}, {testnet.Blocked6, testnet.List6, frameLen6}} {
				s, err := sourceOf(top, c.addr)
				if err != nil || s.Packets != sent || s.Bytes != sent*c.frame || s.Prefix != c.prefix {
					t.Errorf("top sources %+v: want %v with %d packets in %v", top, c.addr, sent, c.prefix)
				}
			}
			if len(top) != 2 {
				t.Errorf("top sources %+v: want only the two blocked addresses", top)
			}
			checkHits(t, g.dir, pinned.ActionDenied, 2*sent)
			if l, err := g.Losses(); err != nil || l != (Losses{}) {
				t.Errorf("losses = %+v, %v", l, err)
			}

			if err := g.DetachIn(p.Receiver, testnet.ReceiverIf); err != nil {
				t.Fatal(err)
			}
			if recv := p.exchange(t, sent, testnet.Blocked4); recv[testnet.Blocked4] != sent {
				t.Errorf("after Detach received %v; want %d from %v", recv, sent, testnet.Blocked4)
			}
		})
	}
}

// checkHits: the shared per-policy counters saw n packets of blockPol or
// monitorPol (by action).
func checkHits(t *testing.T, dir string, action pinned.Action, n uint64) {
	t.Helper()
	st, err := pinned.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hits, err := st.Hits()
	if err != nil {
		t.Fatal(err)
	}
	want := pinned.HitCount{Policy: blockPol, Action: action, Count: n}
	if action == pinned.ActionWouldDeny {
		want.Policy = monitorPol
	}
	if len(hits) != 1 || hits[0] != want {
		t.Errorf("enforce_hits = %+v; want [%+v]", hits, want)
	}
}

// TestMonitor: a prefix only a monitoring policy holds lets everything
// through and counts it as would-drop.
func TestMonitor(t *testing.T) {
	g := loadGuard(t, Options{})
	p := newPair(t)
	monitored := []Source{
		{Prefix: testnet.List4, Verdict: pinned.Verdict{Monitor: 1 << monitorPol}},
		{Prefix: testnet.List6, Verdict: pinned.Verdict{Monitor: 1 << monitorPol}},
	}
	if err := g.SetSources(monitored); err != nil {
		t.Fatal(err)
	}
	if _, err := g.AttachIn(p.Receiver, testnet.ReceiverIf); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		blocked, allowed netip.Addr
		prefix           netip.Prefix
		frame            uint64
	}{{testnet.Blocked4, testnet.Allowed4, testnet.List4, frameLen4}, {testnet.Blocked6, testnet.Allowed6, testnet.List6, frameLen6}} {
		recv := p.exchange(t, sent, c.blocked, c.allowed)
		if recv[c.blocked] != sent || recv[c.allowed] != sent {
			t.Errorf("received %v; want %d from each", recv, sent)
		}
		s := waitCounts(t, g, c.prefix, 0, sent)
		want := Counts{WouldDrop: sent, WouldDropBytes: sent * c.frame}
		if s.Counts != want {
			t.Errorf("%v counts = %+v; want %+v", c.prefix, s.Counts, want)
		}
	}
	top, err := g.TopSources(0)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := sourceOf(top, testnet.Blocked4); err != nil || s.WouldDrop != sent || s.Packets != 0 {
		t.Errorf("top sources %+v: want %v with %d would-drop", top, testnet.Blocked4, sent)
	}
	checkHits(t, g.dir, pinned.ActionWouldDeny, 2*sent)
}

// TestFallbackToTCX: with the interface's XDP hook taken by another
// program, Attach falls back to tcx, which drops the same way.
func TestFallbackToTCX(t *testing.T) {
	g := loadGuard(t, Options{})
	p := newPair(t)
	if err := g.SetSources([]Source{enforcing(testnet.List4)}); err != nil {
		t.Fatal(err)
	}
	foreign, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.XDP,
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2 /* XDP_PASS */), asm.Return()},
		License:      "GPL",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	var held link.Link
	err = netns.Do(p.Receiver, func() error {
		_, ifindex, err := locate(testnet.ReceiverIf)
		if err != nil {
			return err
		}
		held, err = link.AttachXDP(link.XDPOptions{Program: foreign, Interface: ifindex})
		return err
	})
	if err != nil {
		t.Fatalf("attach the foreign XDP program: %v", err)
	}
	defer held.Close()

	mode, err := g.AttachIn(p.Receiver, testnet.ReceiverIf)
	if err != nil || mode != ModeTCX {
		t.Fatalf("AttachIn with XDP taken = %q, %v; want %q", mode, err, ModeTCX)
	}
	recv := p.exchange(t, sent, testnet.Blocked4, testnet.Allowed4)
	if recv[testnet.Blocked4] != 0 || recv[testnet.Allowed4] != sent {
		t.Errorf("received %v; want none from %v and %d from %v", recv, testnet.Blocked4, sent, testnet.Allowed4)
	}
	if s := waitCounts(t, g, testnet.List4, sent, 0); s.Packets != sent || s.Bytes != sent*frameLen4 {
		t.Errorf("counts = %+v; want %d packets", s.Counts, sent)
	}
}
