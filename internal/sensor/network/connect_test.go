package network

import (
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/netname"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestConnectAcceptListenBindClose: a real TCP connection over loopback,
// IPv4 and IPv6, through Go's net package. Every call it makes is reported
// with both ends as the kernel's sockets hold them, and each of the three
// sockets' end is reported for this process even though the TCP stack
// finishes it in a softirq.
func TestConnectAcceptListenBindClose(t *testing.T) {
	w := watch(t, Config{})
	pid := os.Getpid()
	for _, tc := range []struct{ network, host, family string }{
		{"tcp4", "127.0.0.1", "inet"},
		{"tcp6", "::1", "inet6"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			ln, err := net.Listen(tc.network, net.JoinHostPort(tc.host, "0"))
			if err != nil {
				t.Fatal(err)
			}
			port := uint16(ln.Addr().(*net.TCPAddr).Port)
			// Go listens with MPTCP where the kernel has it
			lproto := protocolOf(t, ln.(*net.TCPListener))
			accepted := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					t.Errorf("accept: %v", err)
				}
				accepted <- c
			}()
			c, err := net.Dial(tc.network, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			sc := <-accepted
			cport := uint16(c.LocalAddr().(*net.TCPAddr).Port)

			bind := w.waitFor(t, "net_bind", of(event.KindNetBind, pid, sport(port)))
			want := event.Network{Protocol: lproto, Family: tc.family, SocketType: "stream",
				SAddr: tc.host, SPort: port, Result: "success"}
			checkNetwork(t, bind, want, "bind", 0)

			listen := w.waitFor(t, "net_listen", of(event.KindNetListen, pid, sport(port)))
			want.Backlog = somaxconn(t)
			checkNetwork(t, listen, want, "listen", 0)

			// Go's sockets are non-blocking: connect says EINPROGRESS
			connect := w.waitFor(t, "net_connect", of(event.KindNetConnect, pid, dport(port)))
			want = event.Network{Protocol: "tcp", Family: tc.family, SocketType: "stream",
				SAddr: tc.host, SPort: cport, DAddr: tc.host, DPort: port, Result: "EINPROGRESS"}
			checkNetwork(t, connect, want, "connect", -int64(syscall.EINPROGRESS))

			accept := w.waitFor(t, "net_accept", of(event.KindNetAccept, pid, dport(cport)))
			want = event.Network{Protocol: "tcp", Family: tc.family, SocketType: "stream",
				SAddr: tc.host, SPort: port, DAddr: tc.host, DPort: cport, Result: "success"}
			checkNetwork(t, accept, want, "accept4", accept.Syscall.Ret)
			if accept.Syscall.Ret < 3 {
				t.Errorf("accept4 returned %d, want a new fd", accept.Syscall.Ret)
			}

			c.Close()
			sc.Close()
			ln.Close()
			// the client closed first: it passes FIN_WAIT2, the server LAST_ACK
			cl := w.waitFor(t, "client's net_close", of(event.KindNetClose, pid, sport(cport)))
			want = event.Network{Protocol: "tcp", Family: tc.family, SocketType: "stream",
				SAddr: tc.host, SPort: cport, DAddr: tc.host, DPort: port, State: "CLOSE"}
			checkClose(t, cl, want, "FIN_WAIT2", "TIME_WAIT", "CLOSING")

			srv := w.waitFor(t, "server's net_close", of(event.KindNetClose, pid, both(sport(port), dport(cport))))
			want.SPort, want.DPort = port, cport
			checkClose(t, srv, want, "LAST_ACK")

			lc := w.waitFor(t, "listener's net_close", of(event.KindNetClose, pid, both(sport(port), dport(0))))
			want.DAddr, want.DPort, want.Protocol = "", 0, lproto
			checkClose(t, lc, want, "LISTEN")

			waitNoOpenSockets(t, w, pid)
		})
	}
}

// TestConnectRefused: a blocking connect to a closed port. The socket
// forgets its peer when the connection is refused, so the address is the
// one the caller passed; the socket's end (SYN_SENT → CLOSE) is reported
// after the connect, though it happened inside it.
func TestConnectRefused(t *testing.T) {
	w := watch(t, Config{})
	pid := os.Getpid()
	for _, nonblock := range []bool{false, true} {
		t.Run("nonblocking="+strconv.FormatBool(nonblock), func(t *testing.T) {
			port := closedPort(t)
			flags := unix.SOCK_STREAM | unix.SOCK_CLOEXEC
			if nonblock {
				flags |= unix.SOCK_NONBLOCK
			}
			fd, err := unix.Socket(unix.AF_INET, flags, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			err = unix.Connect(fd, &unix.SockaddrInet4{Port: int(port), Addr: [4]byte{127, 0, 0, 1}})
			wantErr, wantResult := syscall.ECONNREFUSED, "ECONNREFUSED"
			if nonblock {
				wantErr, wantResult = syscall.EINPROGRESS, "EINPROGRESS"
			}
			if !errors.Is(err, wantErr) {
				t.Fatalf("connect: %v, want %v", err, wantErr)
			}
			match := of(event.KindNetConnect, pid, both(dport(port), resultIs(wantResult)))
			rec := w.waitForRecord(t, "net_connect", match)
			want := event.Network{Protocol: "tcp", Family: "inet", SocketType: "stream",
				DAddr: "127.0.0.1", DPort: port, Result: wantResult}
			if nonblock {
				want.SAddr, want.SPort = rec.ev.Network.SAddr, rec.ev.Network.SPort // chosen by the kernel
			}
			checkNetwork(t, rec.ev, want, "connect", -int64(wantErr))

			cl := w.waitFor(t, "net_close", of(event.KindNetClose, pid, dport(port)))
			if cl.Network.OldState != "SYN_SENT" || cl.Network.Result != "ECONNREFUSED" {
				t.Errorf("close: old_state %q result %q, want SYN_SENT and ECONNREFUSED", cl.Network.OldState, cl.Network.Result)
			}
			recs := w.records()
			ci := slices.IndexFunc(recs, func(r record) bool { return r.ev == rec.ev })
			xi := slices.IndexFunc(recs, func(r record) bool { return r.ev == cl })
			if xi < ci {
				t.Errorf("net_close came before its net_connect (records %d and %d)", xi, ci)
			}
		})
	}
	waitNoOpenSockets(t, w, pid)
}

// TestConnectUDPAndBindInUse: a connected UDP socket is a net_connect;
// a bind to a port in use fails and says where it tried.
func TestConnectUDPAndBindInUse(t *testing.T) {
	w := watch(t, Config{})
	pid := os.Getpid()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	c, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	connect := w.waitFor(t, "udp net_connect", of(event.KindNetConnect, pid, dport(port)))
	want := event.Network{Protocol: "udp", Family: "inet", SocketType: "dgram",
		SAddr: "127.0.0.1", SPort: uint16(c.LocalAddr().(*net.UDPAddr).Port),
		DAddr: "127.0.0.1", DPort: port, Result: "success"}
	checkNetwork(t, connect, want, "connect", 0)

	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(port), Addr: [4]byte{127, 0, 0, 1}}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("bind to a port in use: %v, want EADDRINUSE", err)
	}
	bind := w.waitFor(t, "failed net_bind", of(event.KindNetBind, pid, both(sport(port), resultIs("EADDRINUSE"))))
	want = event.Network{Protocol: "udp", Family: "inet", SocketType: "dgram",
		SAddr: "127.0.0.1", SPort: port, Result: "EADDRINUSE"}
	checkNetwork(t, bind, want, "bind", -int64(syscall.EADDRINUSE))
}

// closedPort is a loopback port that nothing listens on: a listener's,
// closed again.
func closedPort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return port
}

// protocolOf names the protocol of a listener's socket (SO_PROTOCOL).
func protocolOf(t *testing.T, ln *net.TCPListener) string {
	t.Helper()
	raw, err := ln.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var proto int
	var serr error
	if err := raw.Control(func(fd uintptr) {
		proto, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL)
	}); err != nil || serr != nil {
		t.Fatalf("SO_PROTOCOL: %v %v", err, serr)
	}
	return netname.Protocol(unix.AF_INET, uint16(proto))
}

func somaxconn(t *testing.T) int {
	t.Helper()
	raw, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(string(raw[:len(raw)-1]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitNoOpenSockets: once its sockets are closed, the sensor follows none
// of pid's: no entry leaks.
func waitNoOpenSockets(t *testing.T, w *watcher, pid int) {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		n, err := w.sensor.OpenSockets(uint32(pid))
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sockets of pid %d still followed after they were closed", n, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
