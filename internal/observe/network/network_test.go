package network

import (
	"fmt"
	"math/bits"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/observe/observetest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// A loopback server in a network namespace: the cgroup's connect latency
// and RTT histograms agree with what the kernel's TCP stack (TCP_INFO)
// and the client's clock measured of the same connections.
func TestRTTAgreesWithTCPInfo(t *testing.T) {
	testenv.RequirePrivileged(t)
	const rounds = 20
	h := runHelper(t, rounds)
	if n := h.stats.TCPRTT.Count(); n < rounds {
		t.Errorf("%d RTT samples for %d request/response rounds", n, rounds)
	}
	assertAgrees(t, h)
}

// A loopback server in a network namespace whose lo delays every packet
// by 20 ms (netem): the cgroup's connect latency and RTT histograms hold
// the delay, as the kernel's TCP stack measured it. Skipped where the
// kernel has no netem (this project's VMs: CONFIG_NET_SCH_NETEM is off).
func TestRTTAndConnectLatencyUnderNetem(t *testing.T) {
	testenv.RequirePrivileged(t)
	const rounds = 10
	h := runHelper(t, rounds, []string{"qdisc", "add", "dev", "lo", "root", "netem", "delay", "20ms"})
	assertAgrees(t, h)
	assertDelayed(t, h, 20000)
}

// A loopback server in a network namespace whose lo is shaped to 16 kbit/s
// (HTB, no burst: each packet waits until the previous one's bytes are
// paid for; the smallest, a bare ACK of 66 bytes, costs 33 ms): the
// cgroup's connect latency and RTT histograms hold the delay, as the
// kernel's TCP stack measured it.
func TestRTTAndConnectLatencyUnderHTB(t *testing.T) {
	testenv.RequirePrivileged(t)
	const rounds = 10
	h := runHelper(t, rounds, []string{"qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10"},
		[]string{"class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb",
			"rate", "16kbit", "burst", "1", "cburst", "1", "quantum", "1500"})
	assertAgrees(t, h)
	assertDelayed(t, h, 10000)
}

// assertAgrees checks the cgroup's histograms against what the kernel's
// TCP stack and the client's clock measured of the same connections. A
// loaded machine lengthens each of these intervals, but never changes how
// they nest, so the bounds below hold at any load:
//   - a connect, SYN_SENT to ESTABLISHED, lies inside the client's dial,
//     and holds the handshake's RTT sample (the SYN's sending to the
//     SYN-ACK's arrival) when the SYN was not resent. For every slot's
//     lower bound b, the connects counted at b or more are at least the
//     handshakes that took b and at most the dials that took b; their sum
//     lies between the handshakes' and the dials'.
//   - a client socket's smoothed RTT is its handshake's sample until the
//     first segment that acknowledges its request, and tcp_probe samples
//     it before that segment is processed: each handshake's RTT is in the
//     RTT histogram, in its slot (less the runs of tcp_probe the kernel
//     skipped, which it counts).
func assertAgrees(t *testing.T, h helperRun) {
	t.Helper()
	st := h.stats
	if n := st.TCPConnect.Count(); n != uint64(len(h.conns)) {
		t.Errorf("%d connects counted; the client made %d", n, len(h.conns))
	}
	var loSum, hiSum uint64
	for _, c := range h.conns {
		hiSum += c.dialNs
		if c.synRetrans == 0 {
			loSum += c.synUs * 1000
		}
	}
	for k := range observe.Slots {
		b := uint64(1) << k
		var lo, hi uint64
		for _, c := range h.conns {
			if c.synRetrans == 0 && c.synUs >= b {
				lo++
			}
			if c.dialNs/1000 >= b {
				hi++
			}
		}
		if n := st.TCPConnect.AtLeast(b); n < lo || n > hi {
			t.Errorf("%d connects counted at %d µs or more; %d handshakes (TCP_INFO) and %d dials (the client's clock) took that long",
				n, b, lo, hi)
		}
	}
	if s := st.TCPConnect.SumNs; s < loSum || s > hiSum {
		t.Errorf("connects add up to %d ns; the handshakes to %d ns, the dials to %d ns", s, loSum, hiSum)
	}
	var want [observe.Slots]uint64
	for _, c := range h.conns {
		if c.synUs > 0 { // 0: the handshake gave no sample, nor tcp_probe one
			want[slotOf(c.synUs)]++
		}
	}
	var missing uint64
	for i, n := range want {
		if have := st.TCPRTT.Slots[i]; have < n {
			missing += n - have
		}
	}
	if missing > h.probeMisses {
		t.Errorf("%d handshake RTTs missing from the RTT histogram (%d tcp_probe runs skipped by the kernel); want slots %v in %v",
			missing, h.probeMisses, want, st.TCPRTT.Slots)
	}
}

// assertDelayed checks a run on a loopback that delays every packet: the
// kernel's own measurements show the delay (every handshake's and every
// socket's least RTT sample took at least forcedUs), and so do the
// histograms: every connect, and every RTT sample, which is an average of
// its socket's samples, none below the least.
func assertDelayed(t *testing.T, h helperRun, forcedUs uint64) {
	t.Helper()
	floor := uint64(noRTT)
	for _, c := range h.conns {
		if (c.synRetrans == 0 && c.synUs < forcedUs) || c.rrNs < forcedUs*1000 {
			t.Fatalf("the forced delay of %d µs did not show in the kernel's or the client's timings: %+v", forcedUs, c)
		}
		floor = min(floor, c.minRTTUs)
	}
	for _, m := range h.servedMin {
		floor = min(floor, m)
	}
	if floor < forcedUs || floor == noRTT {
		t.Fatalf("the least RTT sample of the helper's sockets (TCP_INFO) is %d µs; the forced delay is %d µs", floor, forcedUs)
	}
	st := h.stats
	// a handshake whose SYN was resent waited a retransmission timeout
	// (1 s) on top; the others lie above their RTT sample (assertAgrees)
	if n, all := st.TCPConnect.AtLeast(forcedUs/2), st.TCPConnect.Count(); n != all {
		t.Errorf("%d of %d connects below %d µs; every handshake took at least %d µs", all-n, all, forcedUs/2, forcedUs)
	}
	// the slot holding floor, and those above it
	if n, all := st.TCPRTT.AtLeast(1<<slotOf(floor)), st.TCPRTT.Count(); n != all || all == 0 {
		t.Errorf("%d of %d RTT samples below %d µs, the slot of the least RTT sample of any of the helper's sockets (%d µs)",
			all-n, all, uint64(1)<<slotOf(floor), floor)
	}
}

// slotOf is the histogram slot that counts us µs (obs_slot in
// bpf/lib/observe.bpf.h).
func slotOf(us uint64) int {
	if us < 2 {
		return 0
	}
	return min(bits.Len64(us)-1, observe.Slots-1)
}

// A connection refused (no listener: a reset comes back) counts a reset
// for the client's cgroup. The client runs in a network namespace of the
// test's own, where nothing listens on any port.
func TestResetCounted(t *testing.T) {
	testenv.RequirePrivileged(t)
	o, err := Load(observetest.Ring(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	ns := fmt.Sprintf("vhfl-reset-%d", os.Getpid())
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	cg := testenv.NewCgroup(t)
	script := "for i in 1 2 3; do (exec 3<>/dev/tcp/127.0.0.1/9) 2>/dev/null; done; true"
	cmd := exec.Command("ip", "netns", "exec", ns, "bash", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	id := observetest.CgroupID(t, cg)
	observetest.Poll(t, o, "resets", func(s *observe.Snapshot) bool {
		return s.Cgroups[id] != nil && s.Cgroups[id].TCPResets >= 3
	})
}
