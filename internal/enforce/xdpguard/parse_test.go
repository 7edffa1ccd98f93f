package xdpguard

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/xdpguard/testnet"
)

// frame builds an Ethernet frame with the given VLAN tags (TPIDs) and an
// IPv4 or IPv6 header from src, UDP and payloadLen bytes after it.
func frame(src netip.Addr, tpids ...uint16) []byte {
	b := make([]byte, 12, 200) // destination and source MAC
	for _, tpid := range tpids {
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, 42) // the VLAN id
	}
	if src.Is4() {
		b = binary.BigEndian.AppendUint16(b, 0x0800)
		ip := make([]byte, 20)
		ip[0], ip[8], ip[9] = 0x45, 64, 17
		binary.BigEndian.PutUint16(ip[2:], 20+8+payloadLen)
		copy(ip[12:16], src.AsSlice())
		copy(ip[16:20], testnet.Recv4.AsSlice())
		b = append(b, ip...)
	} else {
		b = binary.BigEndian.AppendUint16(b, 0x86dd)
		ip := make([]byte, 40)
		ip[0], ip[6], ip[7] = 0x60, 17, 64
		binary.BigEndian.PutUint16(ip[4:], 8+payloadLen)
		copy(ip[8:24], src.AsSlice())
		copy(ip[24:40], testnet.Recv6.AsSlice())
		b = append(b, ip...)
	}
	b = append(b, make([]byte, 8+payloadLen)...) // UDP header and payload
	return b
}

// verdicts the two programs return, as test runs report them
const (
	xdpDrop, xdpPass = 1, 2
	tcDrop, tcNext   = 2, 0xffffffff // TCX_DROP, TCX_NEXT (-1)
)

// run feeds data to both programs and reports whether each dropped it.
// The kernel runs tc programs only on an skb whose IP header is whole, so
// short frames go to XDP only.
func run(t *testing.T, g *Guard, data []byte, short bool) (xdpDropped, tcDropped bool) {
	t.Helper()
	ret, err := g.objs.XDP.Run(&ebpf.RunOptions{Data: data})
	if err != nil {
		t.Fatalf("run xdp: %v", err)
	}
	if ret != xdpDrop && ret != xdpPass {
		t.Fatalf("xdp returned %d", ret)
	}
	xdpDropped = ret == xdpDrop
	if short {
		return xdpDropped, false
	}
	ret, err = g.objs.TC.Run(&ebpf.RunOptions{Data: data})
	if err != nil {
		t.Fatalf("run tc: %v", err)
	}
	if ret != tcDrop && ret != tcNext {
		t.Fatalf("tc returned %d", ret)
	}
	return xdpDropped, ret == tcDrop
}

// TestParse: both programs parse Ethernet, up to two VLAN tags and the
// IPv4/IPv6 source alike, drop what a listed source sent, pass everything
// else (unlisted, not IP, truncated, three tags), and count each drop.
func TestParse(t *testing.T) {
	g := loadGuard(t, Options{})
	if err := g.SetSources([]Source{enforcing(testnet.List4), enforcing(testnet.List6)}); err != nil {
		t.Fatal(err)
	}
	arp := append(make([]byte, 12), 0x08, 0x06)
	arp = append(arp, make([]byte, 28)...)
	v4 := frame(testnet.Blocked4)
	v6 := frame(testnet.Blocked6)
	cases := []struct {
		name  string
		data  []byte
		drop  bool
		short bool
	}{
		{"ipv4 listed", v4, true, false},
		{"ipv4 unlisted", frame(testnet.Allowed4), false, false},
		{"ipv4 802.1Q", frame(testnet.Blocked4, 0x8100), true, false},
		{"ipv4 802.1AD+802.1Q", frame(testnet.Blocked4, 0x88a8, 0x8100), true, false},
		{"ipv4 three tags", frame(testnet.Blocked4, 0x88a8, 0x8100, 0x8100), false, false},
		{"ipv6 listed", v6, true, false},
		{"ipv6 unlisted", frame(testnet.Allowed6), false, false},
		{"ipv6 802.1Q", frame(testnet.Blocked6, 0x8100), true, false},
		{"ipv6 802.1AD+802.1Q", frame(testnet.Blocked6, 0x88a8, 0x8100), true, false},
		{"arp", arp, false, false},
		{"ipv4 truncated before the source", v4[:14+15], false, true},
		{"ipv6 truncated before the source", v6[:14+20], false, true},
		{"vlan tag truncated", frame(testnet.Blocked4, 0x8100)[:16], false, false},
	}
	var want4, want6 Counts
	for _, c := range cases {
		x, tc := run(t, g, c.data, c.short)
		if x != c.drop || tc != c.drop {
			t.Errorf("%s: xdp dropped %v, tc dropped %v; want %v", c.name, x, tc, c.drop)
		}
		if !c.drop {
			continue
		}
		w := &want4
		if strings.HasPrefix(c.name, "ipv6") {
			w = &want6
		}
		w.Packets += 2 // both programs
		w.Bytes += 2 * uint64(len(c.data))
	}
	for prefix, want := range map[netip.Prefix]Counts{testnet.List4: want4, testnet.List6: want6} {
		if s := statsOf(t, g, prefix); s.Counts != want {
			t.Errorf("%v counts = %+v; want %+v", prefix, s.Counts, want)
		}
	}
}
