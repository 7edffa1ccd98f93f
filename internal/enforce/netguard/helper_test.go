package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// The kernel tests make their calls from child processes: the test binary
// re-executed in a helper mode (enforcetest.Helper), started inside the
// test cgroup (or outside it).

// envHelper carries the helper's probes, tab-separated.
const envHelper = "VIGIL_NETGUARD_HELPER"

// runHelper performs the helper's probes, tab-separated in spec.
func runHelper(spec string) int {
	probes := strings.Split(spec, "\t")
	if probes[0] == "wait" { // until the test has set up what the probes need
		enforcetest.AwaitGate()
		probes = probes[1:]
	}
	if probes[0] == "loop" {
		return loop(probes[1])
	}
	for _, p := range probes {
		fmt.Println(probe(p))
	}
	return 0
}

// probe makes one call, "op:net:addr" (op connect, sendto or bind; net
// tcp4, tcp6, udp4 or udp6; addr as netip.AddrPort reads it), and returns
// "ok" or the errno's name.
func probe(spec string) string {
	op, rest, _ := strings.Cut(spec, ":")
	network, addr, _ := strings.Cut(rest, ":")
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return "bad address " + addr
	}
	fd, err := socketFor(network)
	if err != nil {
		return "socket: " + err.Error()
	}
	defer unix.Close(fd)
	sa := sockaddr(network, ap)
	switch op {
	case "connect":
		err = unix.Connect(fd, sa)
	case "sendto":
		err = unix.Sendto(fd, []byte("vigil"), 0, sa)
	case "bind":
		err = unix.Bind(fd, sa)
	case "fastopen": // a TCP connect carried by the first sendto
		err = unix.Sendto(fd, []byte("vigil"), unix.MSG_FASTOPEN, sa)
	default:
		return "bad op " + op
	}
	return errName(err)
}

func socketFor(network string) (int, error) {
	family := unix.AF_INET
	if strings.HasSuffix(network, "6") {
		family = unix.AF_INET6
	}
	typ := unix.SOCK_STREAM
	if strings.HasPrefix(network, "udp") {
		typ = unix.SOCK_DGRAM
	}
	return unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
}

// sockaddr: an IPv6 socket gets an IPv6 address, mapped if it is IPv4.
func sockaddr(network string, ap netip.AddrPort) unix.Sockaddr {
	if strings.HasSuffix(network, "6") {
		return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
}

func errName(err error) string {
	var errno syscall.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &errno):
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// loop connects to spec's address again and again until stdin closes, then
// prints how each attempt ended: "ok=N EPERM=M".
func loop(spec string) int {
	done := make(chan struct{})
	go func() {
		enforcetest.AwaitGate()
		close(done)
	}()
	counts := map[string]int{}
	for {
		select {
		case <-done:
			var parts []string
			for k, v := range counts {
				parts = append(parts, fmt.Sprintf("%s=%d", k, v))
			}
			fmt.Println(strings.Join(parts, " "))
			return 0
		default:
			counts[probe(spec)]++
		}
	}
}

// helperCmd is a helper making probes, inside cg unless cg is nil.
func helperCmd(t *testing.T, cg *testenv.Cgroup, probes ...string) *exec.Cmd {
	t.Helper()
	return enforcetest.Helper(t, envHelper, strings.Join(probes, "\t"), cg)
}

// run runs a helper to its end and returns its pid and one result per
// probe.
func run(t *testing.T, cg *testenv.Cgroup, probes ...string) (int, []string) {
	t.Helper()
	res := enforcetest.Run(t, helperCmd(t, cg, probes...))
	if !res.Success() {
		t.Fatalf("helper %q: %v", probes, res)
	}
	got := strings.Fields(strings.TrimSpace(res.Out))
	if len(got) != len(probes) {
		t.Fatalf("helper %q answered %q", probes, res.Out)
	}
	return res.PID, got
}

// expect runs probes in a helper (inside cg unless nil) and checks each
// result; it returns the helper's pid.
func expect(t *testing.T, cg *testenv.Cgroup, want map[string]string) int {
	t.Helper()
	var probes []string
	for p := range want {
		probes = append(probes, p)
	}
	pid, got := run(t, cg, probes...)
	where := "outside the cgroup"
	if cg != nil {
		where = "inside the cgroup"
	}
	for i, p := range probes {
		if got[i] != want[p] {
			t.Errorf("%s %s: %s, want %s", where, p, got[i], want[p])
		}
	}
	return pid
}
