package network

import (
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestDNSQueries: a helper in a network namespace of its own runs DNS
// servers on 127.0.0.1:53 and on a configured port, and queries them
// through Go's resolver (write), sendto, sendmsg, sendmmsg and glibc
// (getent). Each query is reported with its name, type, id and resolver;
// a DNS-shaped message to a port that is not configured is not. Queries
// are seen at the end of the socket's send (sock_send_length).
func TestDNSQueries(t *testing.T) {
	if !kernelHasType(sendTracepoint) {
		testenv.Unavailable(t, "no sock_send_length tracepoint (added in Linux 6.3)")
	}
	testDNSQueries(t, false)
}

// TestDNSQueriesAtEntry: the same, seen at the entry of write, sendto and
// sendmsg, as on kernels without sock_send_length.
func TestDNSQueriesAtEntry(t *testing.T) {
	testDNSQueries(t, true)
}

func testDNSQueries(t *testing.T, atEntry bool) {
	port := uint16(20000 + rand.IntN(20000))
	w := watch(t, Config{DNSPorts: []uint16{53, port}, dnsAtEntry: atEntry})
	marker := fmt.Sprintf("q%x", rand.Uint32())

	cmd := helper(t, "dns", marker+","+strconv.Itoa(int(port)))
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS}
	pid := runHelperCmd(t, cmd)

	for _, tc := range []struct {
		what, name, qtype string
		port              uint16
		id                uint16 // 0: any
		helper            bool   // sent by the helper itself
	}{
		{"go resolver A", marker + "-go.vigil.test", "A", 53, 0, true},
		{"go resolver AAAA", marker + "-go.vigil.test", "AAAA", 53, 0, true},
		{"sendto", marker + "-sendto.vigil.test", "TXT", port, 0x5e17, true},
		{"sendmsg", marker + "-sendmsg.vigil.test", "AAAA", port, 0x5e18, true},
		{"sendmmsg A", marker + "-sendmmsg.vigil.test", "A", port, 0x5e19, true},
		{"sendmmsg AAAA", marker + "-sendmmsg.vigil.test", "AAAA", port, 0x5e1a, true},
		{"glibc A", marker + "-glibc.vigil.test", "A", 53, 0, false},
		{"glibc AAAA", marker + "-glibc.vigil.test", "AAAA", 53, 0, false},
	} {
		ev := w.waitFor(t, "dns_query "+tc.what, func(ev *event.Event) bool {
			return ev.Kind == event.KindDNSQuery && ev.DNS.Query == tc.name && ev.DNS.Type == tc.qtype
		})
		if tc.helper && ev.Process.PID != uint32(pid) {
			t.Errorf("%s: pid %d, want the helper's %d", tc.what, ev.Process.PID, pid)
		}
		if tc.id != 0 && ev.DNS.ID != tc.id {
			t.Errorf("%s: id %#x, want %#x", tc.what, ev.DNS.ID, tc.id)
		}
		if ev.Syscall != nil {
			t.Errorf("%s: syscall %+v, want none: queries are seen before the call returns", tc.what, ev.Syscall)
		}
		n := ev.Network
		if n.Protocol != "udp" || n.Family != "inet" || n.DAddr != "127.0.0.1" || n.DPort != tc.port {
			t.Errorf("%s: network %+v, want udp to 127.0.0.1:%d", tc.what, n, tc.port)
		}
	}
	if got := w.find(func(ev *event.Event) bool {
		return ev.Kind == event.KindDNSQuery && strings.Contains(ev.DNS.Query, marker+"-unwatched")
	}); len(got) > 0 {
		t.Errorf("a query to a port that is not a DNS port was reported: %+v", got[0].ev.DNS)
	}
}

// TestDNSOff: with no DNS ports, nothing is read from UDP sends. A second
// sensor, watching the port, shows that the query was really sent.
func TestDNSOff(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go serveNXDOMAIN(pc)
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	off := watch(t, Config{DNSPorts: []uint16{}})
	on := watch(t, Config{DNSPorts: []uint16{port}})

	c, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(dnsQuery(7, "off.vigil.test", 1)); err != nil {
		t.Fatal(err)
	}
	on.waitFor(t, "dns_query", func(ev *event.Event) bool {
		return ev.Kind == event.KindDNSQuery && ev.DNS.Query == "off.vigil.test"
	})
	// a later event proves that the write's record, had there been one,
	// arrived at the sensor that does not watch DNS
	c2, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	sp := uint16(c2.LocalAddr().(*net.UDPAddr).Port)
	off.waitFor(t, "net_connect after the query", func(ev *event.Event) bool {
		return ev.Kind == event.KindNetConnect && ev.Network.SPort == sp
	})
	if got := off.find(func(ev *event.Event) bool { return ev.Kind == event.KindDNSQuery }); len(got) > 0 {
		t.Errorf("DNS is off, yet a query was reported: %+v", got[0].ev.DNS)
	}
	// DNS off loads no program on write and the sends: write, the
	// hottest call, pays nothing for it
	for _, name := range dnsPrograms {
		if p := off.sensor.Programs()[name]; p != nil {
			t.Errorf("DNS is off, yet %s is loaded", name)
		}
		if p := on.sensor.Programs()[name]; p == nil && !slices.Contains(unusedDNSPrograms(Config{DNSPorts: []uint16{port}}), name) {
			t.Errorf("DNS is on, yet %s is not loaded", name)
		}
	}
	// DNS on, where the kernel has sock_send_length: still nothing on write
	if kernelHasType(sendTracepoint) {
		for _, name := range dnsEntryPrograms {
			if p := on.sensor.Programs()[name]; p != nil {
				t.Errorf("DNS is seen at sock_send_length, yet %s is loaded", name)
			}
		}
	}
}
