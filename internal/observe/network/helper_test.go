package network

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/observe/observetest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

const helperEnv = "VH15O_TCP_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(tcpHelper())
	}
	testenv.Main(m)
}

// tcpHelper is the test's client and server, run inside the test's
// network namespace and cgroup: rounds connections to its own loopback
// listener, one request and its echo on each. For each connection the
// client made it prints a line
//
//	conn <dial ns> <handshake RTT µs> <handshake retransmits> <min RTT µs> <request/response ns>
//
// (its own clock for the dial and the round trip; TCP_INFO, read right
// after the dial, for the handshake, whose RTT sample is then the socket's
// only one; TCP_INFO after the echo for the socket's least RTT sample),
// and for each the server accepted, once the client's FIN has taken the
// socket out of ESTABLISHED (no RTT is sampled on it after that),
//
//	served <min RTT µs>
func tcpHelper() int {
	rounds, _ := strconv.Atoi(os.Getenv(helperEnv))
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	served := make(chan string, rounds)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_, _ = io.Copy(c, c) // until the client's FIN
				info, err := tcpInfo(c)
				_ = c.Close()
				if err != nil {
					served <- fmt.Sprint("server: ", err)
					return
				}
				served <- fmt.Sprint("served ", info.Min_rtt)
			}()
		}
	}()
	for range rounds {
		line, err := helperRound(ln.Addr().String())
		if err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Println(line)
	}
	for range rounds {
		fmt.Println(<-served)
	}
	return 0
}

// helperRound makes one connection to addr, sends a byte and reads its
// echo; it returns the connection's "conn" line.
func helperRound(addr string) (string, error) {
	start := time.Now()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		return "", fmt.Errorf("dial: %w", err)
	}
	dial := time.Since(start)
	defer func() { _ = c.Close() }()
	syn, err := tcpInfo(c)
	if err != nil {
		return "", err
	}
	start = time.Now()
	if _, err := c.Write([]byte{'x'}); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	rr := time.Since(start)
	end, err := tcpInfo(c)
	if err != nil {
		return "", err
	}
	return fmt.Sprint("conn ", dial.Nanoseconds(), " ", syn.Rtt, " ", syn.Total_retrans, " ", end.Min_rtt, " ", rr.Nanoseconds()), nil
}

// tcpInfo is the kernel's TCP_INFO of c.
func tcpInfo(c net.Conn) (*unix.TCPInfo, error) {
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return nil, err
	}
	var (
		info *unix.TCPInfo
		gerr error
	)
	err = raw.Control(func(fd uintptr) { info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
	if err == nil {
		err = gerr
	}
	if err != nil {
		return nil, fmt.Errorf("TCP_INFO: %w", err)
	}
	return info, nil
}

// clientConn is what the helper measured of one connection it made.
type clientConn struct {
	dialNs     uint64 // net.Dial, by the client's clock: the kernel's connect lies within it
	synUs      uint64 // the handshake's RTT sample (tcpi_rtt right after the dial); 0: none
	synRetrans uint64 // retransmits before the dial returned (a resent SYN)
	minRTTUs   uint64 // the socket's least RTT sample (tcpi_min_rtt)
	rrNs       uint64 // the request and its echo, by the client's clock
}

// helperRun is what the TCP helper measured itself, and the observer's
// figures for its cgroup.
type helperRun struct {
	conns       []clientConn
	servedMin   []uint64 // the server's sockets' tcpi_min_rtt, µs
	cgroup      uint64
	stats       *observe.Stats
	probeMisses uint64 // tcp_probe runs the kernel skipped (a BPF program already running on the CPU)
}

// noRTT is tcpi_min_rtt of a socket that has no RTT sample.
const noRTT = 1<<32 - 1

// runHelper makes a network namespace (lo up, then qdisc, when set, on
// it), runs the TCP helper there in a cgroup of its own, and waits for
// the observer to show its connects.
func runHelper(t *testing.T, rounds int, qdiscs ...[]string) helperRun {
	t.Helper()
	ns := fmt.Sprintf("vh15o-%d", os.Getpid())
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	for _, qdisc := range qdiscs {
		argv := append([]string{"tc", "-n", ns}, qdisc...)
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if strings.Contains(string(out), "qdisc kind is unknown") {
			// a feature this machine lacks: not a failure, even in CI
			t.Skipf("this kernel lacks the qdisc of %q: %s", strings.Join(qdisc, " "), out)
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}

	o, err := Load(observetest.Ring(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })

	cg := testenv.NewCgroup(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, self)
	cmd.Env = append(os.Environ(), helperEnv+"="+strconv.Itoa(rounds))
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	h := parseHelper(t, out)
	if len(h.conns) != rounds || len(h.servedMin) != rounds {
		t.Fatalf("the helper reported %d connections made and %d served; want %d\n%s", len(h.conns), len(h.servedMin), rounds, out)
	}
	t.Logf("the helper measured (dial ns, handshake RTT µs, its retransmits, min RTT µs, request/response ns): %v; the server's min RTTs (µs): %v",
		h.conns, h.servedMin)
	h.cgroup = observetest.CgroupID(t, cg)
	t.Logf("programs the kernel skipped so far (a BPF program already running on the CPU): %v", recursionMisses(t, o))
	var last *observe.Snapshot
	t.Cleanup(func() {
		if t.Failed() && last != nil {
			t.Logf("the last reading: the cgroup's figures %+v; losses %v; programs skipped %v",
				last.Cgroups[h.cgroup], last.Losses, recursionMisses(t, o))
		}
	})
	snapshot := observetest.Poll(t, o, "the helper's connects", func(s *observe.Snapshot) bool {
		last = s
		st := s.Cgroups[h.cgroup]
		return st != nil && st.TCPConnect.Count() >= uint64(rounds)
	})
	h.stats = snapshot.Cgroups[h.cgroup]
	h.probeMisses = recursionMisses(t, o)[networkProgTcpProbe]
	t.Logf("observer: connects %v (sum %d ns); RTT samples %v (sum %d ns); tcp_probe recursion misses %d",
		nonZero(h.stats.TCPConnect), h.stats.TCPConnect.SumNs, nonZero(h.stats.TCPRTT), h.stats.TCPRTT.SumNs, h.probeMisses)
	return h
}

// recursionMisses counts, by program, the runs of o's programs that the
// kernel skipped because a BPF program was already running on the CPU.
func recursionMisses(t *testing.T, o *Observer) map[string]uint64 {
	t.Helper()
	stats, err := o.ProgramStats()
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]uint64, len(stats))
	for name, st := range stats {
		m[name] = st.RecursionMisses
	}
	return m
}

// parseHelper reads the helper's lines.
func parseHelper(t *testing.T, out []byte) helperRun {
	t.Helper()
	var h helperRun
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		nums := make([]uint64, len(f))
		for i := 1; i < len(f); i++ {
			n, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				t.Fatalf("helper line %q: field %d: %v\n%s", sc.Text(), i+1, err, out)
			}
			nums[i] = n
		}
		switch {
		case len(f) == 6 && f[0] == "conn":
			h.conns = append(h.conns, clientConn{dialNs: nums[1], synUs: nums[2], synRetrans: nums[3], minRTTUs: nums[4], rrNs: nums[5]})
		case len(f) == 2 && f[0] == "served":
			h.servedMin = append(h.servedMin, nums[1])
		default:
			t.Fatalf("helper said %q\n%s", sc.Text(), out)
		}
	}
	return h
}

// nonZero is h's non-empty slots, by their lower bound in µs.
func nonZero(h observe.Hist) map[uint64]uint64 {
	m := make(map[uint64]uint64)
	for i, n := range h.Slots {
		if n > 0 {
			m[uint64(1)<<i] = n
		}
	}
	return m
}

func run(t *testing.T, argv ...string) {
	t.Helper()
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}
