package network

import (
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestRawAndPacketSockets: raw inet sockets and packet sockets are
// reported, ordinary ones are not, and a refused attempt says why.
func TestRawAndPacketSockets(t *testing.T) {
	w := watch(t, Config{})
	pid := os.Getpid()

	// first ordinary sockets, which must not be reported: a stream socket
	// and a raw netlink socket (as ip(8) opens)
	for _, s := range [][3]int{{unix.AF_INET, unix.SOCK_STREAM, 0}, {unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE}} {
		fd, err := unix.Socket(s[0], s[1]|unix.SOCK_CLOEXEC, s[2])
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
	}

	for _, tc := range []struct {
		family, typ, proto int
		want               event.Network
	}{
		{unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP,
			event.Network{Family: "inet", SocketType: "raw", Protocol: "icmp", Result: "success"}},
		{unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_ICMPV6,
			event.Network{Family: "inet6", SocketType: "raw", Protocol: "icmpv6", Result: "success"}},
		{unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW,
			event.Network{Family: "inet", SocketType: "raw", Protocol: "raw", Result: "success"}},
		{unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)),
			event.Network{Family: "packet", SocketType: "raw", Protocol: "all", Result: "success"}},
		{unix.AF_PACKET, unix.SOCK_DGRAM, int(htons(unix.ETH_P_IP)),
			event.Network{Family: "packet", SocketType: "dgram", Protocol: "ip", Result: "success"}},
	} {
		fd, err := unix.Socket(tc.family, tc.typ|unix.SOCK_CLOEXEC, tc.proto)
		if err != nil {
			t.Fatalf("socket(%d, %d, %d): %v", tc.family, tc.typ, tc.proto, err)
		}
		unix.Close(fd)
		ev := w.waitFor(t, "net_socket "+tc.want.Family+" "+tc.want.SocketType+" "+tc.want.Protocol,
			of(event.KindNetSocket, pid, func(ev *event.Event) bool {
				return ev.Syscall.Ret == int64(fd) && *ev.Network == tc.want
			}))
		checkNetwork(t, ev, tc.want, "socket", int64(fd))
	}
	if got := w.find(of(event.KindNetSocket, pid, func(ev *event.Event) bool {
		return ev.Network.SocketType == "stream" || ev.Network.Family != "inet" &&
			ev.Network.Family != "inet6" && ev.Network.Family != "packet"
	})); len(got) > 0 {
		t.Errorf("an ordinary socket was reported: %+v", got[0].ev.Network)
	}

	// as nobody, a raw socket is refused
	cmd := helperAsNobody(t, "raw", "")
	hpid := runHelperCmd(t, cmd)
	ev := w.waitFor(t, "refused net_socket", of(event.KindNetSocket, hpid, nil))
	want := event.Network{Family: "inet", SocketType: "raw", Protocol: "icmp", Result: "EPERM"}
	checkNetwork(t, ev, want, "socket", -int64(syscall.EPERM))
	if ev.Syscall.Error != "EPERM" {
		t.Errorf("syscall error %q, want EPERM", ev.Syscall.Error)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
