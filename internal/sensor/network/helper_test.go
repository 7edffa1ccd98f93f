package network

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The test binary re-executes itself as a helper to act as another
// process: in a network namespace of its own, or as another user.
const (
	helperEnv = "VIGIL_NETWORK_HELPER" // which helper
	argEnv    = "VIGIL_NETWORK_ARG"    // its argument
)

func runHelper(name string) int {
	helpers := map[string]func(arg string) error{
		"dns":      dnsHelper,
		"redirect": redirectHelper,
		"raw":      rawHelper,
		"payload":  payloadHelper,
		"storm":    stormHelper,
	}
	h, ok := helpers[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "no helper %q\n", name)
		return 2
	}
	if err := h(os.Getenv(argEnv)); err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", name, err)
		return 1
	}
	return 0
}

// helper prepares the test binary to run as helper name.
func helper(t *testing.T, name, arg string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+name, argEnv+"="+arg)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd
}

// helperAsNobody prepares a helper that runs as uid and gid 65534, from a
// copy of the test binary that nobody may execute.
func helperAsNobody(t *testing.T, name, arg string) *exec.Cmd {
	t.Helper()
	cmd := helperCopy(t, "network.test", name, arg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return cmd
}

// helperCopy prepares helper name run from a copy of the test binary
// called file, in a directory anyone may enter: its process has that name.
func helperCopy(t *testing.T, file, name, arg string) *exec.Cmd {
	t.Helper()
	dir, err := os.MkdirTemp("", "vigil-network-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(dir, file)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyPath, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := helper(t, name, arg)
	cmd.Path = copyPath
	cmd.Args[0] = copyPath
	cmd.Dir = dir
	return cmd
}

// runHelperCmd runs cmd to its end and returns its pid.
func runHelperCmd(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper %s: %v", cmd.Env[len(cmd.Env)-2], err)
	}
	return cmd.Process.Pid
}

// loopbackUp brings up lo in a fresh network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}

// dnsQuery builds a query for name (no final dot) of type qtype.
func dnsQuery(id uint16, name string, qtype uint16) []byte {
	msg := binary.BigEndian.AppendUint16(nil, id)
	msg = append(msg, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0) // RD; one question
	for _, label := range strings.Split(name, ".") {
		msg = append(msg, byte(len(label)))
		msg = append(msg, label...)
	}
	msg = append(msg, 0)
	msg = binary.BigEndian.AppendUint16(msg, qtype)
	return binary.BigEndian.AppendUint16(msg, 1) // IN
}

// serveNXDOMAIN answers every query on pc with "no such name" until pc
// is closed.
func serveNXDOMAIN(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		q := buf[:n]
		if _, end, err := readName(q, dnsHeaderLen); err == nil && end+4 <= n {
			resp := append([]byte{q[0], q[1], 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0}, q[dnsHeaderLen:end+4]...)
			pc.WriteTo(resp, from)
		}
	}
}

// dnsHelper runs in a network and mount namespace of its own, with a DNS
// server on 127.0.0.1:53 and on 127.0.0.1:<arg port>, and queries them in
// every way the sensor watches. Names start with the arg marker.
func dnsHelper(arg string) error {
	marker, portText, _ := strings.Cut(arg, ",")
	port, err := strconv.Atoi(portText)
	if err != nil {
		return err
	}
	if err := loopbackUp(); err != nil {
		return err
	}
	for _, p := range []int{53, port, port + 1} {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			return err
		}
		defer pc.Close()
		go serveNXDOMAIN(pc)
	}
	steps := []func(marker string, port int) error{
		goResolver, unwatchedPort, sendtoQuery, sendmsgQuery, sendmmsgQueries, glibcResolver,
	}
	for _, step := range steps {
		if err := step(marker, port); err != nil {
			return err
		}
	}
	return nil
}

// goResolver: Go's own resolver writes on a connected UDP socket to :53.
func goResolver(marker string, _ int) error {
	r := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return net.Dial("udp4", "127.0.0.1:53")
	}}
	_, err := r.LookupHost(context.Background(), marker+"-go.vigil.test.")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		return fmt.Errorf("go resolver: %v, want not found", err)
	}
	return nil
}

// unwatchedPort: a query to a port that is not a DNS port is no dns_query.
func unwatchedPort(marker string, port int) error {
	c, err := net.Dial("udp4", "127.0.0.1:"+strconv.Itoa(port+1))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write(dnsQuery(1, marker+"-unwatched.vigil.test", 1))
	return err
}

func udpSocket() (int, error) {
	return unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
}

func sendtoQuery(marker string, port int) error {
	fd, err := udpSocket()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	to := &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	return unix.Sendto(fd, dnsQuery(0x5e17, marker+"-sendto.vigil.test", 16), 0, to)
}

func sendmsgQuery(marker string, port int) error {
	fd, err := udpSocket()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	to := &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	return unix.Sendmsg(fd, dnsQuery(0x5e18, marker+"-sendmsg.vigil.test", 28), nil, to, 0)
}

// sendmmsgQueries sends an A and an AAAA query in one sendmmsg on a
// connected socket, as glibc does.
func sendmmsgQueries(marker string, port int) error {
	fd, err := udpSocket()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return err
	}
	name := marker + "-sendmmsg.vigil.test"
	msgs := [][]byte{dnsQuery(0x5e19, name, 1), dnsQuery(0x5e1a, name, 28)}
	var iovs [2]unix.Iovec
	var hdrs [2]struct {
		hdr unix.Msghdr
		len uint32
		_   [4]byte
	}
	for i, m := range msgs {
		iovs[i].Base = &m[0]
		iovs[i].SetLen(len(m))
		hdrs[i].hdr.Iov = &iovs[i]
		hdrs[i].hdr.SetIovlen(1)
	}
	n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])), 2, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	if n != 2 {
		return fmt.Errorf("sendmmsg sent %d messages, want 2", n)
	}
	return nil
}

// glibcResolver runs getent with a resolv.conf that points at 127.0.0.1.
func glibcResolver(marker string, _ int) error {
	conf, err := os.CreateTemp("", "vigil-resolv-")
	if err != nil {
		return err
	}
	defer os.Remove(conf.Name())
	if _, err := conf.WriteString("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n"); err != nil {
		return err
	}
	conf.Close()
	if err := unix.Mount(conf.Name(), "/etc/resolv.conf", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind resolv.conf: %w", err)
	}
	out, err := exec.Command("getent", "ahosts", marker+"-glibc.vigil.test").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 { // 2: not found
		return fmt.Errorf("getent: %v (%s), want exit status 2", err, bytes.TrimSpace(out))
	}
	return nil
}

// redirectHelper connects to 127.0.0.1:<arg> and puts the socket on stdin
// in every way the sensor watches: dup2, dup3, fcntl(F_DUPFD), dup.
func redirectHelper(arg string) error {
	port, err := strconv.Atoi(arg)
	if err != nil {
		return err
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	if err := unix.Connect(s, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return err
	}
	// x/sys/unix's Dup2 is dup3 underneath: call dup2 itself
	if _, _, errno := unix.Syscall(unix.SYS_DUP2, uintptr(s), 0, 0); errno != 0 {
		return fmt.Errorf("dup2: %w", errno)
	}
	if err := unix.Dup3(s, 0, 0); err != nil {
		return fmt.Errorf("dup3: %w", err)
	}
	unix.Close(0)
	if fd, err := unix.FcntlInt(uintptr(s), unix.F_DUPFD, 0); err != nil || fd != 0 {
		return fmt.Errorf("fcntl(F_DUPFD) = %d, %v; want 0", fd, err)
	}
	unix.Close(0)
	if fd, err := unix.Dup(s); err != nil || fd != 0 {
		return fmt.Errorf("dup = %d, %v; want 0", fd, err)
	}
	return nil
}

// rawHelper opens a raw ICMP socket: as an unprivileged user, it fails.
func rawHelper(string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
	if err == nil {
		unix.Close(fd)
		return errors.New("a raw socket as an unprivileged user succeeded")
	}
	if !errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("raw socket: %v, want EPERM", err)
	}
	return nil
}
