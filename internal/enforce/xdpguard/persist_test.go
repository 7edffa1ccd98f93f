package xdpguard

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/enforce/xdpguard/testnet"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestPinnedLinkOutlivesAgent: after Close the pinned link keeps dropping;
// a new Guard on the same pin directory (a restarted agent) attaches to
// the same interface by giving the pinned link its program in place, finds
// the counts where they were, and pinned.Remove lifts the drop.
func TestPinnedLinkOutlivesAgent(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := testenv.PinDir(t)
	p := newPair(t)

	first, err := Load(Options{PinDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.SetSources([]Source{enforcing(testnet.List4)}); err != nil {
		first.Close()
		t.Fatal(err)
	}
	mode, err := first.AttachIn(p.Receiver, testnet.ReceiverIf)
	if err != nil || mode != ModeXDP {
		first.Close()
		t.Fatalf("AttachIn = %q, %v; want %q", mode, err, ModeXDP)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if recv := p.exchange(t, sent, testnet.Blocked4, testnet.Allowed4); recv[testnet.Blocked4] != 0 || recv[testnet.Allowed4] != sent {
		t.Fatalf("with no Guard open received %v; want none from %v", recv, testnet.Blocked4)
	}

	second := loadGuard(t, Options{PinDir: dir})
	mode, err = second.AttachIn(p.Receiver, testnet.ReceiverIf)
	if err != nil || mode != ModeXDP {
		t.Fatalf("AttachIn after restart = %q, %v; want %q (the pinned link updated)", mode, err, ModeXDP)
	}
	atts, err := second.Attachments()
	if err != nil || len(atts) != 1 || atts[0].Mode != ModeXDP {
		t.Fatalf("attachments after restart = %+v, %v; want one xdp link", atts, err)
	}
	l, err := pinned.LoadLink(dir, atts[0].Pin)
	if err != nil {
		t.Fatal(err)
	}
	info, err := l.Info()
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	pinfo, err := second.objs.XDP.Info()
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := pinfo.ID(); info.Program != id {
		t.Errorf("pinned link runs program %d; want the new Guard's %d", info.Program, id)
	}
	if recv := p.exchange(t, sent, testnet.Blocked4, testnet.Allowed4); recv[testnet.Blocked4] != 0 || recv[testnet.Allowed4] != sent {
		t.Fatalf("after restart received %v; want none from %v", recv, testnet.Blocked4)
	}
	if s := waitCounts(t, second, testnet.List4, 2*sent, 0); s.Packets != 2*sent {
		t.Errorf("counts across the restart = %+v; want %d packets", s.Counts, 2*sent)
	}

	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pinned.Remove(dir); err != nil {
		t.Fatal(err)
	}
	// the kernel detaches a link whose pin was its last reference from a
	// work queue, a moment after the unpin: wait for it (bounded)
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		recv := p.exchange(t, sent, testnet.Blocked4)
		if recv[testnet.Blocked4] == sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after pinned.Remove received %v; want %d from %v", recv, sent, testnet.Blocked4)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestModeChangeReplacesPin: a Guard forced to tcx on an interface whose
// pinned link is XDP attaches tcx and unpins the XDP link.
func TestModeChangeReplacesPin(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := testenv.PinDir(t)
	p := newPair(t)

	xdp := loadGuard(t, Options{PinDir: dir})
	if err := xdp.SetSources([]Source{enforcing(testnet.List4)}); err != nil {
		t.Fatal(err)
	}
	if _, err := xdp.AttachIn(p.Receiver, testnet.ReceiverIf); err != nil {
		t.Fatal(err)
	}
	tcx := loadGuard(t, Options{PinDir: dir, Modes: []Mode{ModeTCX}})
	if mode, err := tcx.AttachIn(p.Receiver, testnet.ReceiverIf); err != nil || mode != ModeTCX {
		t.Fatalf("AttachIn forced to tcx = %q, %v", mode, err)
	}
	atts, err := tcx.Attachments()
	if err != nil || len(atts) != 1 || atts[0].Mode != ModeTCX {
		t.Fatalf("attachments = %+v, %v; want the tcx link only", atts, err)
	}
	if recv := p.exchange(t, sent, testnet.Blocked4, testnet.Allowed4); recv[testnet.Blocked4] != 0 || recv[testnet.Allowed4] != sent {
		t.Fatalf("received %v; want none from %v", recv, testnet.Blocked4)
	}
}
