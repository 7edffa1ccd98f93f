package network

import (
	"encoding/hex"
	"fmt"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// What the payload helper sends to itself, in this order: the four that
// are reported, each after bytes that must not be.
var (
	classUDP = []byte{0xca, 0xfe, 0xba, 0xbe} // the event-generator's 4 bytes
	elfUDP   = []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0x3e, 0}
	classTCP = []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0x3d, 0, 0x21, 7, 0, 2, 1, 0, 0x10, 'j', 'a', 'v', 'a'}
	elfTCP   = []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0xb7, 0}
)

// TestPayload: a helper named java, in a network namespace of its own,
// receives on loopback a Java class file over UDP with recvfrom (as
// Falco's event-generator does), an ELF over UDP with recvmsg, a class file
// over TCP with read and an ELF over TCP with readv. Each is reported once
// with its first bytes, call and socket; what comes before each is not:
// ordinary bytes, a magic peeked at (MSG_PEEK), 3 bytes of a magic, a
// magic in a buffer too short to hold it. A second sensor with NoPayload
// reports none of it.
func TestPayload(t *testing.T) {
	w := watch(t, Config{})
	if why := w.sensor.Degraded(); why != "" {
		testenv.Unavailable(t, why)
	}
	off := watch(t, Config{NoPayload: true})

	cmd := helperCopy(t, "java", "payload", "")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNET}
	pid := runHelperCmd(t, cmd)

	for _, tc := range []struct {
		call, protocol, magic string
		sent                  []byte
	}{
		{"recvfrom", "udp", "java_class", classUDP},
		{"recvmsg", "udp", "elf", elfUDP},
		{"read", "tcp", "java_class", classTCP},
		{"readv", "tcp", "elf", elfTCP},
	} {
		what := fmt.Sprintf("net_payload %s %s over %s", tc.magic, tc.call, tc.protocol)
		ev := w.waitFor(t, what, of(event.KindNetPayload, pid, func(ev *event.Event) bool {
			return ev.Syscall != nil && ev.Syscall.Name == tc.call
		}))
		n := ev.Network
		want := hex.EncodeToString(tc.sent[:min(len(tc.sent), payloadHeadMax)])
		if n.Payload != tc.magic || n.PayloadHead != want {
			t.Errorf("%s: payload %q %q, want %q %q", what, n.Payload, n.PayloadHead, tc.magic, want)
		}
		if ev.Syscall.Ret != int64(len(tc.sent)) {
			t.Errorf("%s: ret %d, want %d", what, ev.Syscall.Ret, len(tc.sent))
		}
		if n.Protocol != tc.protocol || n.Family != "inet" || n.SAddr != "127.0.0.1" || n.SPort == 0 {
			t.Errorf("%s: network %+v, want %s on 127.0.0.1", what, n, tc.protocol)
		}
		if tc.protocol == "tcp" && (n.DAddr != "127.0.0.1" || n.DPort == 0) {
			t.Errorf("%s: peer %s:%d, want the client on 127.0.0.1", what, n.DAddr, n.DPort)
		}
	}
	// the helper's receives are in the ring in order: everything it
	// received before its last reported bytes is in by now
	if got := w.find(of(event.KindNetPayload, pid, nil)); len(got) != 4 {
		for _, r := range got {
			t.Logf("%s %+v", r.ev.Syscall.Name, r.ev.Network)
		}
		t.Errorf("%d net_payload events from the helper, want 4", len(got))
	}
	if got := off.find(func(ev *event.Event) bool { return ev.Kind == event.KindNetPayload }); len(got) != 0 {
		t.Errorf("NoPayload: %d net_payload events, want none", len(got))
	}
}

// payloadHelper sends itself, over loopback in its own network namespace,
// what TestPayload expects, each receive in the way it names.
func payloadHelper(string) error {
	if err := loopbackUp(); err != nil {
		return err
	}
	if err := payloadUDP(); err != nil {
		return fmt.Errorf("udp: %w", err)
	}
	if err := payloadTCP(); err != nil {
		return fmt.Errorf("tcp: %w", err)
	}
	return nil
}

// loopbackPair is a server socket bound to 127.0.0.1 and a client socket
// connected to it; for TCP, the server is the accepted connection.
func loopbackPair(typ int) (server, client int, err error) {
	s, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, err
	}
	if err := unix.Bind(s, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return -1, -1, err
	}
	if typ == unix.SOCK_STREAM {
		if err := unix.Listen(s, 1); err != nil {
			return -1, -1, err
		}
	}
	addr, err := unix.Getsockname(s)
	if err != nil {
		return -1, -1, err
	}
	c, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, err
	}
	if err := unix.Connect(c, addr); err != nil {
		return -1, -1, err
	}
	if typ != unix.SOCK_STREAM {
		return s, c, nil
	}
	a, _, err := unix.Accept4(s, unix.SOCK_CLOEXEC)
	unix.Close(s)
	return a, c, err
}

// exchange writes msg on c and, once all of it is queued at s, receives
// it there with recv, which must return want bytes.
func exchange(s, c int, msg []byte, want int, recv func(fd int, buf []byte) (int, error)) error {
	if _, err := unix.Write(c, msg); err != nil {
		return err
	}
	for deadline := time.Now().Add(testenv.WaitLimit); ; time.Sleep(time.Millisecond) {
		queued, err := unix.IoctlGetInt(s, unix.SIOCINQ)
		if err != nil {
			return fmt.Errorf("SIOCINQ: %w", err)
		}
		if queued >= len(msg) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d bytes queued after %v", queued, len(msg), testenv.WaitLimit)
		}
	}
	buf := make([]byte, 64)
	n, err := recv(s, buf)
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("received %d bytes of % x, want %d", n, msg, want)
	}
	return nil
}

func recvfrom(flags int) func(int, []byte) (int, error) {
	return func(fd int, buf []byte) (int, error) {
		n, _, err := unix.Recvfrom(fd, buf, flags)
		return n, err
	}
}

// payloadUDP: datagrams on a connected client, received on an unconnected
// server, as the event-generator does.
func payloadUDP() error {
	s, c, err := loopbackPair(unix.SOCK_DGRAM)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	defer unix.Close(c)
	short := func(fd int, buf []byte) (int, error) {
		n, _, err := unix.Recvfrom(fd, buf[:2], unix.MSG_TRUNC) // returns the datagram's length
		return n, err
	}
	recvmsg := func(fd int, buf []byte) (int, error) {
		n, _, _, _, err := unix.Recvmsg(fd, buf, nil, 0)
		return n, err
	}
	peek := func(fd int, buf []byte) (int, error) {
		if _, _, err := unix.Recvfrom(fd, buf, unix.MSG_PEEK); err != nil {
			return 0, err
		}
		return recvfrom(0)(fd, buf)
	}
	steps := []struct {
		msg  []byte
		want int
		recv func(int, []byte) (int, error)
	}{
		{[]byte("hello, vigil"), 12, recvfrom(0)},
		{classUDP[:3], 3, recvfrom(0)},
		{classTCP, len(classTCP), short},
		{classUDP, 4, peek}, // reported once, by its second receive
		{elfUDP, len(elfUDP), recvmsg},
	}
	for _, st := range steps {
		if err := exchange(s, c, st.msg, st.want, st.recv); err != nil {
			return err
		}
	}
	return nil
}

// payloadTCP: a connection on loopback, read by the accepted end.
func payloadTCP() error {
	s, c, err := loopbackPair(unix.SOCK_STREAM)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	defer unix.Close(c)
	read := func(fd int, buf []byte) (int, error) { return unix.Read(fd, buf[:len(classTCP)]) }
	readv := func(fd int, buf []byte) (int, error) { return unix.Readv(fd, [][]byte{buf[:len(elfTCP)]}) }
	request := []byte("GET /Exploit.class HTTP/1.1\r\n\r\n")
	if err := exchange(s, c, request, len(request), recvfrom(0)); err != nil {
		return err
	}
	if err := exchange(s, c, classTCP, len(classTCP), read); err != nil {
		return err
	}
	return exchange(s, c, elfTCP, len(elfTCP), readv)
}
