package netguard

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// The seeds in testdata/fuzz are records captured from the kernel
// (CI=true go test -run TestDenyAtRoot -capture); go test runs them every time.

func fixedDecoder() Decoder {
	return Decoder{Clock: func(ns uint64) time.Time { return time.Unix(0, int64(ns)) }}
}

func FuzzDecode(f *testing.F) {
	d := fixedDecoder()
	f.Add(bytesOf(sample()))
	type decoded struct {
		ev *event.Event
		m  Match
	}
	decode := func(raw []byte) (decoded, error) {
		ev, err := d.Decode(raw)
		m, merr := MatchedRule(raw)
		if (err == nil) != (merr == nil) {
			return decoded{}, fmt.Errorf("Decode says %v, MatchedRule %v", err, merr)
		}
		return decoded{ev, m}, err
	}
	enforcetest.FuzzDecoder(f, decode, func(t *testing.T, v decoded, _ []byte) {
		ev, m := v.ev, v.m
		if ev.Kind != event.KindNetConnect && ev.Kind != event.KindNetBind {
			t.Fatalf("kind %s", ev.Kind)
		}
		if ev.Process == nil || ev.Network == nil || ev.Syscall == nil || ev.Enforcement == nil {
			t.Fatalf("incomplete event %+v", ev)
		}
		if a := ev.Enforcement.Action; a != event.ActionDenied && a != event.ActionWouldDeny {
			t.Fatalf("action %s", a)
		}
		if !strings.HasPrefix(ev.Enforcement.Hook, "cgroup/") || ev.Enforcement.PolicyID >= pinned.MaxPolicies {
			t.Fatalf("enforcement %+v", ev.Enforcement)
		}
		if !m.Prefix.IsValid() || m.Prefix != m.Prefix.Masked() {
			t.Fatalf("matched prefix %v", m.Prefix)
		}
	})
}

func sample() netguardNetRecord {
	var r netguardNetRecord
	r.Hdr.Kind = WireKind
	r.Hdr.Size = uint32(recordSize)
	r.Hdr.Ktime = 1e9
	r.Hdr.Pid, r.Hdr.Tid, r.Hdr.CgroupId = 100, 101, 5
	r.Hit.Policy, r.Hit.Action = 3, uint16(pinned.ActionDenied)
	r.Op = uint8(netguardNetOpNET_OP_CONNECT)
	r.Family, r.Protocol, r.Port = unix.AF_INET, unix.IPPROTO_TCP, 443
	copy(r.Addr[:], []byte{10, 1, 2, 3})
	r.Match = netguardNetMatch{Family: unix.AF_INET, Proto: uint8(ProtocolTCP), Port: 443, Bits: 16}
	return r
}

func bytesOf(r netguardNetRecord) []byte { return enforcetest.Raw(&r) }

func TestDecodeSample(t *testing.T) {
	ev, err := fixedDecoder().Decode(bytesOf(sample()))
	if err != nil {
		t.Fatal(err)
	}
	n, en := ev.Network, ev.Enforcement
	if ev.Kind != event.KindNetConnect || ev.Syscall.Name != "connect" || ev.Syscall.Error != "EPERM" ||
		n.DAddr != "10.1.2.3" || n.DPort != 443 || n.Protocol != "tcp" || n.Family != "inet" || n.Result != "EPERM" ||
		en.PolicyID != 3 || en.Action != event.ActionDenied || en.Hook != "cgroup/connect4" || en.Mechanism != "kernel" ||
		ev.Process.PID != 100 || ev.Process.TID != 101 || ev.Process.Cgroup.ID != 5 || !ev.Time.Equal(time.Unix(1, 0)) {
		t.Errorf("decoded %+v %+v %+v %+v %+v", *ev, *ev.Syscall, *n, *en, *ev.Process)
	}
	m, err := MatchedRule(bytesOf(sample()))
	if want := (Match{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Port: 443, Protocol: ProtocolTCP}); err != nil || m != want {
		t.Errorf("MatchedRule = %+v, %v; want %+v", m, err, want)
	}
}

func TestDecodeBindAndMapped(t *testing.T) {
	r := sample()
	r.Op, r.Flags, r.Family = uint8(netguardNetOpNET_OP_BIND), uint8(netguardNetFlagNET_V4MAPPED|netguardNetFlagNET_HOOK6), unix.AF_INET6
	r.Hit.Action = uint16(pinned.ActionWouldDeny)
	a := netip.MustParseAddr("::ffff:10.1.2.3").As16()
	copy(r.Addr[:], a[:])
	ev, err := fixedDecoder().Decode(bytesOf(r))
	if err != nil {
		t.Fatal(err)
	}
	n := ev.Network
	if ev.Kind != event.KindNetBind || n.SAddr != "::ffff:10.1.2.3" || n.SPort != 443 || n.DAddr != "" ||
		n.Result != "success" || ev.Enforcement.Action != event.ActionWouldDeny || ev.Enforcement.Hook != "cgroup/bind6" {
		t.Errorf("decoded %+v %+v %+v", *ev, *n, *ev.Enforcement)
	}
	if m, err := MatchedRule(bytesOf(r)); err != nil || m.Prefix != netip.MustParsePrefix("10.1.0.0/16") {
		t.Errorf("MatchedRule = %+v, %v", m, err)
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	bad := map[string][]byte{}
	for name, mutate := range map[string]func(*netguardNetRecord){
		"kind":          func(r *netguardNetRecord) { r.Hdr.Kind = 20 },
		"size":          func(r *netguardNetRecord) { r.Hdr.Size-- },
		"op":            func(r *netguardNetRecord) { r.Op = 9 },
		"family":        func(r *netguardNetRecord) { r.Family = unix.AF_UNIX },
		"policy":        func(r *netguardNetRecord) { r.Hit.Policy = 64 },
		"action":        func(r *netguardNetRecord) { r.Hit.Action = uint16(pinned.ActionKilled) },
		"bits":          func(r *netguardNetRecord) { r.Match.Bits = 33 },
		"match family":  func(r *netguardNetRecord) { r.Match.Family = unix.AF_INET6 }, // an IPv4 socket
		"match unknown": func(r *netguardNetRecord) { r.Match.Family = 0 },
	} {
		r := sample()
		mutate(&r)
		bad[name] = bytesOf(r)
	}
	raw := bytesOf(sample())
	for _, n := range []int{0, wire.HeaderSize - 1, wire.HeaderSize, len(raw) - 1} {
		bad[fmt.Sprintf("%d bytes", n)] = raw[:n]
	}
	enforcetest.WantMalformed(t, func(raw []byte) error { _, err := fixedDecoder().Decode(raw); return err }, bad)
}
