package xdpguard

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/netns"
	"github.com/vigil-sec/vigil/internal/enforce/xdpguard/testnet"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// The test network is testnet's; the receiver listens on recvPort.
const (
	recvPort   = 9999
	payloadLen = 100
	frameLen4  = 14 + 20 + 8 + payloadLen // what the byte counters see
	frameLen6  = 14 + 40 + 8 + payloadLen
)

// pair is the test network, removed when the test ends.
type pair struct{ *testnet.Pair }

func newPair(t *testing.T) *pair {
	t.Helper()
	p, err := testnet.New("vigil-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return &pair{p}
}

// udpIn opens a UDP socket in the namespace at ns: bound to local, and
// connected to remote unless it is the zero value.
func udpIn(t *testing.T, ns string, local, remote netip.AddrPort) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := netns.Do(ns, func() error {
		var err error
		if remote.IsValid() {
			c, err = net.DialUDP("udp", net.UDPAddrFromAddrPort(local), net.UDPAddrFromAddrPort(remote))
		} else {
			c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(local))
		}
		return err
	})
	if err != nil {
		t.Fatalf("udp socket %v in %s: %v", local, ns, err)
	}
	return c
}

var sentinel = []byte("end")

// exchange sends n datagrams of payloadLen bytes from each of sources (in
// that order) to the receiver's address of their family, then one
// sentinel datagram from the unlisted address, and returns how many
// datagrams of each source the receiver's socket got before the sentinel.
// The veth pair keeps the order of what one thread sends.
func (p *pair) exchange(t *testing.T, n int, sources ...netip.Addr) map[netip.Addr]int {
	t.Helper()
	dst, last := netip.AddrPortFrom(testnet.Recv4, recvPort), testnet.Allowed4
	if sources[0].Is6() {
		dst, last = netip.AddrPortFrom(testnet.Recv6, recvPort), testnet.Allowed6
	}
	rc := udpIn(t, p.Receiver, dst, netip.AddrPort{})
	defer rc.Close()
	if err := rc.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	got := make(map[netip.Addr]int)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 2048)
		// a guard against a hang, not a timed assertion: the
		// sentinel is never dropped, so it comes unless the test fails
		rc.SetReadDeadline(time.Now().Add(testenv.WaitLimit))
		for {
			k, from, err := rc.ReadFromUDPAddrPort(buf)
			if err != nil {
				done <- fmt.Errorf("waiting for the sentinel: %w (got %v)", err, got)
				return
			}
			if bytes.Equal(buf[:k], sentinel) {
				done <- nil
				return
			}
			got[from.Addr().Unmap()]++
		}
	}()
	payload := bytes.Repeat([]byte{'x'}, payloadLen)
	for _, src := range sources {
		c := udpIn(t, p.Sender, netip.AddrPortFrom(src, 0), dst)
		for i := 0; i < n; i++ {
			if _, err := c.Write(payload); err != nil {
				c.Close()
				t.Fatalf("send from %v: %v", src, err)
			}
		}
		c.Close()
	}
	c := udpIn(t, p.Sender, netip.AddrPortFrom(last, 0), dst)
	_, err := c.Write(sentinel)
	c.Close()
	if err != nil {
		t.Fatalf("send sentinel: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return got
}

// waitCounts waits until prefix's dropped and would-drop packets reach
// the wanted numbers (or a generous deadline passes), and returns its
// stats. The counters are final once the sentinel arrived; the wait only
// covers a queue drained on another CPU.
func waitCounts(t *testing.T, g *Guard, prefix netip.Prefix, packets, wouldDrop uint64) PrefixStats {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		s := statsOf(t, g, prefix)
		if (s.Packets >= packets && s.WouldDrop >= wouldDrop) || time.Now().After(deadline) {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func statsOf(t *testing.T, g *Guard, prefix netip.Prefix) PrefixStats {
	t.Helper()
	s, err := g.StatsOf(prefix)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var errNoSource = errors.New("no such source")

func sourceOf(all []SourceStats, a netip.Addr) (SourceStats, error) {
	for _, s := range all {
		if s.Addr == a {
			return s, nil
		}
	}
	return SourceStats{}, errNoSource
}
