package agent

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/network"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/wire"
)

// netHelperEnv makes the test binary a network helper: "<mode>,<n>,<tcp
// port>,<dns port>". The agent exempts the test's own process, so network
// activity to be seen happens in this child.
const netHelperEnv = "VIGIL_TEST_NETWORK"

func init() {
	// Not a registry: when re-executed as a helper, the test binary does
	// the helper's job and exits before any test runs.
	if spec := os.Getenv(netHelperEnv); spec != "" {
		if err := netHelper(spec); err != nil {
			fmt.Fprintln(os.Stderr, "network helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

func netHelper(spec string) error {
	var mode string
	var n, tcpPort, dnsPort int
	if _, err := fmt.Sscanf(strings.ReplaceAll(spec, ",", " "), "%s %d %d %d", &mode, &n, &tcpPort, &dnsPort); err != nil {
		return fmt.Errorf("spec %q: %w", spec, err)
	}
	switch mode {
	case "context":
		return contextHelper(tcpPort, dnsPort)
	case "load":
		return networkLoad(n, dnsPort)
	case "hold":
		return holdConnections(n)
	}
	return fmt.Errorf("no mode %q", mode)
}

func loopback(port int) *unix.SockaddrInet4 {
	return &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
}

// contextHelper connects to the test, sends a DNS query, puts the socket
// on stdin and closes it: one event of four kinds from one process.
func contextHelper(tcpPort, dnsPort int) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	if err := unix.Connect(s, loopback(tcpPort)); err != nil {
		return err
	}
	if err := sendQuery(dnsPort, 0x77); err != nil {
		return err
	}
	if err := unix.Dup3(s, 0, 0); err != nil {
		return err
	}
	unix.Close(0)
	return unix.Close(s)
}

func sendQuery(port int, id uint16) error {
	u, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(u)
	return unix.Sendto(u, query(id, "context.vigil.test"), 0, loopback(port))
}

// query is a DNS query for an A record of name.
func query(id uint16, name string) []byte {
	msg := binary.BigEndian.AppendUint16(nil, id)
	msg = append(msg, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	for _, label := range strings.Split(name, ".") {
		msg = append(append(msg, byte(len(label))), label...)
	}
	return append(msg, 0, 0, 1, 0, 1)
}

// networkLoad makes a known number of each watched network call; see
// networkLoadCounts.
func networkLoad(n, dnsPort int) error {
	ln, port, err := tcpListener()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ { // connections, closed by the client first
		c, a, err := connection(ln, port)
		if err != nil {
			return err
		}
		unix.Close(c)
		unix.Close(a)
	}
	for i := 0; i < n; i++ { // listeners
		l, _, err := tcpListener()
		if err != nil {
			return err
		}
		unix.Close(l)
	}
	u, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ { // DNS queries
		if err := unix.Sendto(u, query(uint16(i), "load.vigil.test"), 0, loopback(dnsPort)); err != nil {
			return fmt.Errorf("sendto: %w", err)
		}
	}
	unix.Close(u)
	for i := 0; i < n; i++ { // raw sockets
		raw, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
		if err != nil {
			return err
		}
		unix.Close(raw)
	}
	c, a, err := connection(ln, port)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ { // the socket onto stdin
		if err := unix.Dup3(c, 0, 0); err != nil {
			return fmt.Errorf("dup3: %w", err)
		}
	}
	unix.Close(0)
	unix.Close(c)
	unix.Close(a)
	return unix.Close(ln)
}

// holdConnections opens n connections to its own listener, all at once,
// then closes them.
func holdConnections(n int) error {
	ln, port, err := tcpListener()
	if err != nil {
		return err
	}
	var fds []int
	for i := 0; i < n; i++ {
		c, a, err := connection(ln, port)
		if err != nil {
			return err
		}
		fds = append(fds, c, a)
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	return unix.Close(ln)
}

// networkLoadCounts is what networkLoad(n) makes, by kind.
func networkLoadCounts(n uint64) map[event.Kind]uint64 {
	return map[event.Kind]uint64{
		event.KindNetConnect: n + 1,
		event.KindNetAccept:  n + 1,
		event.KindNetBind:    n + 1,
		event.KindNetListen:  n + 1,
		event.KindNetSocket:  n,
		event.KindDNSQuery:   n,
		event.KindFdRedirect: n,
		// both ends of n+1 connections, n+1 listeners
		event.KindNetClose: 2*(n+1) + n + 1,
	}
}

// tcpListener binds a TCP socket to a loopback port and listens.
func tcpListener() (fd, port int, err error) {
	fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return 0, 0, err
	}
	if err := unix.Bind(fd, loopback(0)); err != nil {
		return 0, 0, fmt.Errorf("bind: %w", err)
	}
	if err := unix.Listen(fd, 64); err != nil {
		return 0, 0, fmt.Errorf("listen: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, 0, err
	}
	return fd, sa.(*unix.SockaddrInet4).Port, nil
}

// connection connects to the listener ln on port and accepts: both ends.
func connection(ln, port int) (client, server int, err error) {
	client, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return 0, 0, err
	}
	if err := unix.Connect(client, loopback(port)); err != nil {
		return 0, 0, fmt.Errorf("connect: %w", err)
	}
	server, _, err = unix.Accept4(ln, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("accept: %w", err)
	}
	return client, server, nil
}

// TestNetworkEventsCarryProcessContext: the events of a child process
// carry what its exec events carry: binary, exec id, parent, container.
// Even the end of its connection, which the TCP stack finishes in a
// softirq, is its own.
func TestNetworkEventsCarryProcessContext(t *testing.T) {
	tcp, udp := netServers(t)
	dnsPort := udp.LocalAddr().(*net.UDPAddr).Port
	r := start(t, Config{Network: network.Config{DNSPorts: []uint16{53, uint16(dnsPort)}}})
	requireRunning(t, r, "network")
	tcpPort := tcp.Addr().(*net.TCPAddr).Port

	helper := exec.Command(mustExecutable(t), "-test.run=^$")
	helper.Env = append(os.Environ(), fmt.Sprintf("%s=context,0,%d,%d", netHelperEnv, tcpPort, dnsPort))
	helper.Stderr = os.Stderr
	if err := helper.Run(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	pid := uint32(helper.Process.Pid)
	byHelper := func(kind event.Kind) func(*event.Event) bool {
		return func(ev *event.Event) bool { return ev.Kind == kind && ev.Process.PID == pid }
	}
	execEv := r.waitFor(t, "the helper's exec", byHelper(event.KindProcessExec))
	self := realPath(t, mustExecutable(t))
	for _, kind := range []event.Kind{event.KindNetConnect, event.KindDNSQuery, event.KindFdRedirect, event.KindNetClose} {
		ev := waitExplained(t, r, pid, byHelper(kind), string(kind))
		p := ev.Process
		if p.Binary != self || p.ExecID != execEv.Process.ExecID || p.Partial {
			t.Errorf("%s: process binary %q exec_id %q partial %v, want %q, the exec's %q, complete",
				kind, p.Binary, p.ExecID, p.Partial, self, execEv.Process.ExecID)
		}
		if ev.Parent == nil || ev.Parent.PID != uint32(os.Getpid()) || ev.Parent.Binary != self {
			t.Errorf("%s: parent %+v, want the test process", kind, ev.Parent)
		}
		if len(ev.Ancestors) == 0 {
			t.Errorf("%s: no ancestors above the test process", kind)
		}
		if p.Container == nil || p.Container.ID != event.HostContainerID {
			t.Errorf("%s: container %+v, want host", kind, p.Container)
		}
		if ev.Node == "" || ev.Network == nil || ev.Network.DAddr != "127.0.0.1" {
			t.Errorf("%s: node %q network %+v, want a node and the loopback peer", kind, ev.Node, ev.Network)
		}
	}
	if dns := r.waitFor(t, "dns_query", byHelper(event.KindDNSQuery)); dns.DNS.Query != "context.vigil.test" || dns.DNS.ID != 0x77 {
		t.Errorf("dns %+v, want context.vigil.test id 0x77", dns.DNS)
	}
}

// waitExplained is waitFor that, when nothing comes, says what the agent
// counted and what it saw from pid.
func waitExplained(t *testing.T, r *running, pid uint32, match func(*event.Event) bool, what string) *event.Event {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		if found := r.sink.find(match); len(found) > 0 {
			return found[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	var seen []string
	for _, ev := range r.sink.find(func(ev *event.Event) bool { return ev.Process.PID == pid }) {
		seen = append(seen, string(ev.Kind))
	}
	losses, err := r.Losses()
	t.Fatalf("no %s event within %v; from pid %d: %v; malformed %d, losses %+v %v",
		what, waitLimit, pid, seen, r.counts.malformedN.Load(), losses, err)
	return nil
}

// netServers are a TCP listener that reads every connection to its end
// and a UDP socket that takes datagrams, both run by the test.
func netServers(t *testing.T) (net.Listener, net.PacketConn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 512)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return ln, pc
}

func requireRunning(t *testing.T, r *running, sensor string) {
	t.Helper()
	for _, s := range r.Sensors() {
		if s.Name == sensor {
			if !s.Running {
				t.Fatalf("%s sensor not running: %s", sensor, s.Error)
			}
			return
		}
	}
	t.Fatalf("no %s sensor", sensor)
}

// delivered is how many records of kind the agent read plus how many the
// kernel counted as lost (ring full, tracking map full).
func delivered(t *testing.T, r *running, kind event.Kind) (got, lost uint64) {
	t.Helper()
	w, ok := wire.Kind(kind)
	if !ok {
		t.Fatalf("kind %s has no wire number", kind)
	}
	losses, err := r.Losses()
	if err != nil {
		t.Fatal(err)
	}
	return r.counts.byKind[w].Load(), ring.Lost(losses, ring.RingbufFull, kind) + ring.Lost(losses, ring.MapFull, kind)
}

// waitAccounted waits until every kind's records, delivered or counted
// lost, reach want: the ends of TCP connections come a little after the
// helper has exited. It returns without failing; the caller compares.
func waitAccounted(t *testing.T, r *running, want map[event.Kind]uint64) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		done := true
		for kind, n := range want {
			if got, lost := delivered(t, r, kind); got+lost < n {
				done = false
			}
		}
		if done {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNetworkEveryEventAccountedFor: a helper in a cgroup of its own makes
// a known number of each network call. For each kind, records delivered
// plus records the kernel counted as lost equals what happened, with a
// roomy ring read all along and with a one-page ring that nobody reads
// until the helper is done, where drops happen by construction.
func TestNetworkEveryEventAccountedFor(t *testing.T) {
	const n = 2000
	for _, tc := range []struct {
		name     string
		ringSize int
		// readLate: the ring is read only after the helper ended
		readLate bool
	}{
		{"roomy", 8 << 20, false},
		{"tiny-and-unread", os.Getpagesize(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.RequirePrivileged(t)
			_, udp := netServers(t)
			dnsPort := udp.LocalAddr().(*net.UDPAddr).Port
			cg := testenv.NewCgroup(t)
			rc := ring.DefaultConfig()
			rc.Size = tc.ringSize
			r := load(t, Config{Ring: rc, Cgroup: cg.Rel(),
				Network: network.Config{DNSPorts: []uint16{uint16(dnsPort)}}})
			requireRunning(t, r, "network")
			if !tc.readLate {
				r.run()
			}

			helper := exec.Command(mustExecutable(t), "-test.run=^$")
			helper.Env = append(os.Environ(), fmt.Sprintf("%s=load,%d,0,%d", netHelperEnv, n, dnsPort))
			helper.Stderr = os.Stderr
			helper.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
			if err := helper.Run(); err != nil {
				t.Fatalf("helper: %v", err)
			}
			if tc.readLate {
				r.run()
			}
			want := networkLoadCounts(n)
			waitAccounted(t, r, want)
			r.stop(t) // drains the ring

			var dropped uint64
			for kind, produced := range want {
				got, lost := delivered(t, r, kind)
				dropped += lost
				if got+lost != produced {
					t.Errorf("%s: %d delivered + %d lost = %d, want %d", kind, got, lost, got+lost, produced)
				}
			}
			sum, err := r.Summary()
			if err != nil {
				t.Fatal(err)
			}
			if sum.Malformed != 0 {
				t.Errorf("%d malformed records", sum.Malformed)
			}
			if tc.readLate && dropped == 0 {
				t.Errorf("an unread one-page ring dropped nothing: the drop path went untested")
			}
			t.Logf("delivered %v, losses %+v", sum.Records, sum.Losses)
		})
	}
}

// TestNetworkSocketTableFull: with room to follow 64 sockets and 201 open
// at once, the ends of the sockets that did not fit are counted as lost,
// so that reported plus lost closes still equal the sockets opened.
func TestNetworkSocketTableFull(t *testing.T) {
	const n, room = 100, 64
	cg := testenv.NewCgroup(t)
	r := start(t, Config{Cgroup: cg.Rel(), Network: network.Config{Sockets: room}})
	requireRunning(t, r, "network")
	helper := exec.Command(mustExecutable(t), "-test.run=^$")
	helper.Env = append(os.Environ(), fmt.Sprintf("%s=hold,%d,0,0", netHelperEnv, n))
	helper.Stderr = os.Stderr
	helper.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if err := helper.Run(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	const opened = 2*n + 1 // both ends of n connections, and the listener
	waitAccounted(t, r, map[event.Kind]uint64{event.KindNetClose: opened})
	r.stop(t)
	got, lost := delivered(t, r, event.KindNetClose)
	if got+lost != opened || lost < opened-room {
		t.Errorf("net_close: %d delivered + %d lost = %d, want %d with at least %d lost", got, lost, got+lost, opened, opened-room)
	}
	losses, err := r.Losses()
	if err != nil {
		t.Fatal(err)
	}
	if full := ring.Lost(losses, ring.MapFull, event.KindNetClose); full != lost {
		t.Errorf("%d net_close lost, %d of them for a full table; want all", lost, full)
	}
}
