package network

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/observe/observetest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// listenIn opens n loopback listeners on ephemeral ports inside network
// namespace ns (a thread that entered it, then ends with its goroutine);
// each echoes one byte per connection, then closes it.
func listenIn(t *testing.T, ns string, n int) []net.Listener {
	t.Helper()
	type result struct {
		lns []net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with the goroutine
		var r result
		defer func() { done <- r }()
		fd, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			r.err = err
			return
		}
		defer unix.Close(fd) //nolint:errcheck // read only
		if r.err = unix.Setns(fd, unix.CLONE_NEWNET); r.err != nil {
			return
		}
		for range n {
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				r.err = err
				return
			}
			r.lns = append(r.lns, ln)
		}
	}()
	r := <-done
	for _, ln := range r.lns {
		t.Cleanup(func() { _ = ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					b := make([]byte, 1)
					if _, err := io.ReadFull(c, b); err == nil {
						_, _ = c.Write(b)
					}
					_, _ = io.Copy(io.Discard, c)
					_ = c.Close()
				}()
			}
		}()
	}
	if r.err != nil {
		t.Fatalf("listen in %s: %v", ns, r.err)
	}
	return r.lns
}

// Two loopback servers on ephemeral ports in a network namespace the
// test makes, one of them watched: a client in the test's cgroup
// connects to each, sends a byte and reads its echo, rounds times. The
// cgroup's figures for the watched port count every connect and hold RTT
// samples; the other port has no figures of its own; the cgroup's totals
// count the connects to both.
func TestWatchedRemotePort(t *testing.T) {
	testenv.RequirePrivileged(t)
	const rounds = 5
	ns := fmt.Sprintf("h15r-%d", os.Getpid())
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	lns := listenIn(t, ns, 2)
	watched, other := uint16(lns[0].Addr().(*net.TCPAddr).Port), uint16(lns[1].Addr().(*net.TCPAddr).Port)

	o, err := Load(observetest.Ring(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	if err := o.Watch([]uint16{watched}); err != nil {
		t.Fatal(err)
	}
	if err := o.Watch(make([]uint16, observe.MaxRemotePorts+1)); err == nil {
		t.Errorf("watching %d ports said nothing", observe.MaxRemotePorts+1)
	}
	cg := testenv.NewCgroup(t)
	script := fmt.Sprintf(`for i in $(seq %d); do for p in %d %d; do
		exec 3<>/dev/tcp/127.0.0.1/$p && echo -n x >&3 && read -r -n1 y <&3 && exec 3>&- || exit 1
	done; done`, rounds, watched, other)
	cmd := exec.Command("ip", "netns", "exec", ns, "bash", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	id := observetest.CgroupID(t, cg)
	s := observetest.Poll(t, o, "the watched port's connects", func(s *observe.Snapshot) bool {
		st := s.Cgroups[id]
		return st != nil && st.TCPConnect.Count() >= 2*rounds &&
			st.TCPPorts[watched] != nil && st.TCPPorts[watched].Connect.Count() >= rounds
	})
	st := s.Cgroups[id]
	w := st.TCPPorts[watched]
	t.Logf("cgroup: %d connects; port %d: %d connects, %d RTT samples; ports %v", st.TCPConnect.Count(), watched,
		w.Connect.Count(), w.RTT.Count(), keys(st.TCPPorts))
	if w.Connect.Count() != rounds {
		t.Errorf("port %d: %d connects; the client made %d", watched, w.Connect.Count(), rounds)
	}
	if w.RTT.Count() == 0 {
		t.Errorf("port %d: no RTT samples", watched)
	}
	if len(st.TCPPorts) != 1 {
		t.Errorf("figures for ports %v; want only the watched %d (not %d)", keys(st.TCPPorts), watched, other)
	}
	if n := s.Losses[observe.Network+"/ports_full"]; n != 0 {
		t.Errorf("%d port samples lost", n)
	}
}

func keys(m map[uint16]*observe.TCPPort) []uint16 {
	var out []uint16
	for k := range m {
		out = append(out, k)
	}
	return out
}
