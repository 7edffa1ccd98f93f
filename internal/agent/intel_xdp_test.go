package agent

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/enforce/netns"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// xdpNet is a veth pair whose host end (in this namespace, where the agent
// attaches) receives from a sender in a namespace of the test's own.
type xdpNet struct {
	hostIf, ns, nsPath              string
	host, allowed, blocked, watched string
}

// newXDPNet makes the pair, named after the v14f prefix and this process,
// in a /24 of 10.214/16 chosen by the pid; t.Cleanup removes it.
func newXDPNet(t *testing.T) *xdpNet {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("the test network is built with iproute2: %v", err)
	}
	pid := os.Getpid()
	sub := fmt.Sprintf("10.214.%d", pid%250+1)
	n := &xdpNet{hostIf: fmt.Sprintf("v14f%04xh", pid&0xffff), ns: fmt.Sprintf("v14f-%d", pid),
		host: sub + ".2", allowed: sub + ".1", blocked: sub + ".65", watched: sub + ".66"}
	n.nsPath = filepath.Join("/run/netns", n.ns)
	peer := fmt.Sprintf("v14f%04xp", pid&0xffff)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", n.ns)
	t.Cleanup(func() {
		// the host end goes with its peer
		if out, err := exec.Command("ip", "netns", "del", n.ns).CombinedOutput(); err != nil {
			t.Errorf("remove netns %s: %v: %s", n.ns, err, out)
		}
	})
	const hostMAC = "02:14:0f:00:00:02"
	ip("link", "add", n.hostIf, "address", hostMAC, "type", "veth", "peer", "name", peer, "netns", n.ns)
	ip("addr", "add", n.host+"/24", "dev", n.hostIf)
	ip("link", "set", n.hostIf, "up")
	for _, a := range []string{n.allowed, n.blocked, n.watched} {
		ip("-n", n.ns, "addr", "add", a+"/24", "dev", peer)
	}
	ip("-n", n.ns, "link", "set", peer, "up")
	// no ARP: every packet that reaches the host end is one the test sent
	ip("-n", n.ns, "neigh", "replace", n.host, "lladdr", hostMAC, "dev", peer, "nud", "permanent")
	return n
}

// send sends count UDP datagrams from the address from, inside the
// sender's namespace, to the host end's port; each carries from.
func (n *xdpNet) send(t *testing.T, from string, port, count int) {
	t.Helper()
	err := netns.Do(n.nsPath, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		src, dst := &unix.SockaddrInet4{}, &unix.SockaddrInet4{Port: port}
		copy(src.Addr[:], net.ParseIP(from).To4())
		copy(dst.Addr[:], net.ParseIP(n.host).To4())
		if err := unix.Bind(fd, src); err != nil {
			return fmt.Errorf("bind %s: %w", from, err)
		}
		for range count {
			if err := unix.Sendto(fd, []byte(from), 0, dst); err != nil {
				return fmt.Errorf("send from %s: %w", from, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestIntelDropsPackets: a MISP feed served by the test lists an address
// (enforce) and a plain list another (monitor); the agent, with
// intel.interfaces naming the host end of the test's veth pair, drops
// what the first sends, lets the others' packets through, and counts both
// with the indicator that listed the prefix.
func TestIntelDropsPackets(t *testing.T) {
	testenv.RequirePrivileged(t)
	cg := testenv.NewCgroup(t)
	n := newXDPNet(t)

	const uuid = "5f0c1a2b-2222-4000-8000-0000000000f1"
	feed := &intelFeed{}
	ts := time.Now().Unix()
	feed.put(feedFiles(ts, mispAttr(uuid, "ip-src", n.blocked, ts)))
	srv := httptest.NewServer(feed)
	t.Cleanup(srv.Close)
	list := filepath.Join(t.TempDir(), "watch.txt")
	if err := os.WriteFile(list, []byte(n.watched+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// room for the two sources' prefixes, and no more
	in := IntelConfig{Intel: config.Intel{Interfaces: []string{n.hostIf}, Scope: policy.Scope{Cgroup: cg.Rel()},
		MaxPacketPrefixes: 2,
		Sources: []intel.SourceConfig{
			{Name: "feed", Kind: intel.KindMISPFeed, URL: srv.URL + "/feed/", Interval: time.Hour, Mode: policy.Enforce,
				Severity: event.SeverityHigh, Column: -1, Source: "test"},
			{Name: "watch", Kind: intel.KindList, URL: list, Interval: time.Hour, Mode: policy.Monitor,
				Severity: event.SeverityHigh, Column: -1, Source: "test"},
		}}}
	a := start(t, Config{Enforce: &EnforceConfig{PinDir: testenv.PinDir(t), StateDir: t.TempDir()}, Intel: &in}).Agent
	waitEntries(t, a, "intel.feed", "packets", 1)
	waitEntries(t, a, "intel.watch", "packets", 1)

	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(n.host)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	port := rx.LocalAddr().(*net.UDPAddr).Port
	const count = 20
	// the listed address first: once the others' packets are in, every
	// one of its packets has met the filter
	n.send(t, n.blocked, port, count)
	n.send(t, n.watched, port, count)
	n.send(t, n.allowed, port, count)
	got := map[string]int{}
	buf := make([]byte, 64)
	rx.SetReadDeadline(time.Now().Add(waitLimit))
	for got[n.allowed] < count || got[n.watched] < count {
		k, err := rx.Read(buf)
		if err != nil {
			t.Fatalf("received %v, want %d from %s and %s: %v", got, count, n.allowed, n.watched, err)
		}
		got[string(buf[:k])]++
	}
	if got[n.blocked] != 0 {
		t.Errorf("%d packets from the listed %s got through", got[n.blocked], n.blocked)
	}

	waitFor(t, "the packet counts with their provenance", func() bool {
		var dropped, watched bool
		for _, p := range a.IntelReport().Packets {
			switch p.Prefix {
			case n.blocked + "/32":
				dropped = p.Dropped >= count && p.Intel.Source == "feed" && p.Intel.AttributeUUID == uuid &&
					p.Intel.EventUUID == feedEventUUID && p.Intel.AttributeType == "ip-src"
			case n.watched + "/32":
				watched = p.WouldDrop >= count && p.Dropped == 0 && p.Intel.Source == "watch"
			case n.allowed + "/32":
				t.Errorf("the unlisted %s is counted: %+v", n.allowed, p)
			}
		}
		return dropped && watched
	})

	// a refresh that lists more prefixes than the tables hold: refused
	// whole, naming each source's count; the set in force stays
	more := n.watched + "\n" + strings.Replace(n.watched, ".66", ".67", 1) + "\n"
	if err := os.WriteFile(list, []byte(more), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.IntelRefresh(context.Background(), "watch"); err != nil {
		t.Fatal(err)
	}
	rep := a.IntelReport()
	if rep.ApplyFailures != 1 || !strings.Contains(rep.ApplyError, "3 source prefixes (intel.feed 1, intel.watch 2), room for 2") {
		t.Errorf("apply failures %d, error %q: want one, naming the sources' counts", rep.ApplyFailures, rep.ApplyError)
	}
	waitEntries(t, a, "intel.watch", "packets", 1)
	before := got[n.blocked]
	n.send(t, n.blocked, port, count)
	n.send(t, n.allowed, port, 1)
	for got[n.allowed] < count+1 {
		k, err := rx.Read(buf)
		if err != nil {
			t.Fatalf("after the refused refresh: %v", err)
		}
		got[string(buf[:k])]++
	}
	if got[n.blocked] != before {
		t.Errorf("after the refused refresh, packets from %s got through", n.blocked)
	}
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// count is how many alerts match.
func (s *alertSink) count(match func(*event.Alert) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := 0
	for _, al := range s.alerts {
		if match(al) {
			k++
		}
	}
	return k
}
