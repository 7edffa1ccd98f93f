// Command xdpdrop measures packet drop on a veth pair between two network
// namespaces it creates: a sender thread blasts UDP at the receiver as
// fast as it can (sendmmsg of prebuilt frames on a packet socket, or with
// -packet=false of datagrams on a UDP socket), and a reader thread drains
// the receiver's socket (recvmmsg). Configurations, in rotating order
// each round:
//
//   - a flood from a listed source: with no program (the baseline: what
//     the stack delivers), then dropped by XDP with 1 prefix, by XDP with
//     10 000 prefixes (9 000 IPv4, 1 000 IPv6) and by the tcx fallback
//     with the same list;
//   - a flood from an unlisted source (in the /16 of a listed prefix, so
//     the trie is walked): with no program (the baseline), with an empty
//     XDP program (what native XDP on veth costs by itself), and with XDP
//     and tcx holding the 10 000 prefixes: what the list costs the
//     traffic it passes.
//
// Rates are medians over the rounds; a ratio is packets handled (dropped
// plus delivered) to those the baseline of the same round delivered. Then the programs' own cost per packet is measured with
// BPF_PROG_TEST_RUN against an empty XDP program, in rotating order.
// Run as root; it needs iproute2, and removes its namespaces and pins.
//
//	go run ./bench/xdpdrop -rounds 7 -duration 1s
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/enforce/xdpguard"
	"github.com/vigil-sec/vigil/internal/enforce/xdpguard/testnet"
)

type config struct {
	name  string
	guard *xdpguard.Guard // nil: no program, or the empty one
	empty *ebpf.Program   // an XDP program that passes everything, when set
	from  int             // sender socket: the blocked or the unlisted source
	base  int             // the configuration it is compared with
}

type sample struct{ sent, dropped, delivered, read, rcvbuf float64 }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "xdpdrop:", err)
		os.Exit(1)
	}
}

func run() error {
	rounds := flag.Int("rounds", 7, "rounds; each measures every configuration once")
	duration := flag.Duration("duration", time.Second, "flood length per measurement")
	payload := flag.Int("payload", 18, "UDP payload bytes (18: 60-byte frames)")
	repeat := flag.Int("repeat", 1_000_000, "test runs per program cost measurement")
	packet := flag.Bool("packet", true, "send prebuilt UDP frames on a packet socket (faster); false: send on UDP sockets")
	bpfStats := flag.Bool("bpf-stats", false, "also report ns per packet of the attached program from kernel BPF statistics (enabled machine-wide while it runs)")
	flag.Parse()
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root")
	}

	nw, err := testnet.New("vigil-bench")
	if err != nil {
		return err
	}
	defer func() {
		if err := nw.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	base := filepath.Join("/sys/fs/bpf", fmt.Sprintf("vigil-bench-%d", os.Getpid()))
	defer pinned.Remove(base)

	one, err := xdpguard.Load(xdpguard.Options{PinDir: filepath.Join(base, "one")})
	if err != nil {
		return err
	}
	defer one.Close()
	if err := one.SetSources([]xdpguard.Source{{Prefix: testnet.List4, Verdict: pinned.Verdict{Enforce: 1}}}); err != nil {
		return err
	}
	bigDir := filepath.Join(base, "big")
	big, err := xdpguard.Load(xdpguard.Options{PinDir: bigDir})
	if err != nil {
		return err
	}
	defer big.Close()
	if err := big.SetSources(bigList()); err != nil {
		return err
	}
	bigTC, err := xdpguard.Load(xdpguard.Options{PinDir: bigDir, Modes: []xdpguard.Mode{xdpguard.ModeTCX}})
	if err != nil {
		return err
	}
	defer bigTC.Close()

	dst := netip.AddrPortFrom(testnet.Recv4, recvPort)
	rfd, err := udpSocket(nw.Receiver, dst, netip.AddrPort{})
	if err != nil {
		return fmt.Errorf("receiver socket: %w", err)
	}
	defer closeFD(rfd)
	var senders [2]sender
	for i, src := range []netip.Addr{testnet.Blocked4, testnet.Allowed4} {
		s := sender{msg: make([]byte, *payload)}
		if *packet {
			s.fd, err = packetSocket(nw.Sender)
			s.msg = udpFrame(src, *payload)
		} else {
			s.fd, err = udpSocket(nw.Sender, netip.AddrPortFrom(src, 0), dst)
		}
		if err != nil {
			return fmt.Errorf("sender socket: %w", err)
		}
		defer closeFD(s.fd)
		senders[i] = s
	}
	var stop atomic.Bool
	var read atomic.Uint64
	drained := make(chan error, 1)
	go func() { drained <- drain(rfd, &stop, &read) }()
	defer func() { stop.Store(true); <-drained }()

	if *bpfStats {
		st, err := ebpf.EnableStats(0) // BPF_STATS_RUN_TIME
		if err != nil {
			return fmt.Errorf("enable BPF statistics: %w", err)
		}
		defer st.Close()
	}
	empty, err := emptyXDP()
	if err != nil {
		return err
	}
	defer empty.Close()
	configs := []config{
		{"listed source, no program (baseline)", nil, nil, 0, 0},
		{"listed source, xdp, 1 prefix", one, nil, 0, 0},
		{"listed source, xdp, 10 000 prefixes", big, nil, 0, 0},
		{"listed source, tcx, 10 000 prefixes", bigTC, nil, 0, 0},
		{"unlisted source, no program (baseline)", nil, nil, 1, 4},
		{"unlisted source, empty XDP program", nil, empty, 1, 4},
		{"unlisted source, xdp, 10 000 prefixes", big, nil, 1, 4},
		{"unlisted source, tcx, 10 000 prefixes", bigTC, nil, 1, 4},
	}
	samples := make([][]sample, len(configs))
	progNs := make([][]float64, len(configs))
	for r := 0; r < *rounds; r++ {
		for k := range configs {
			i := (k + r) % len(configs)
			s, ns, err := measure(nw, configs[i], senders[configs[i].from], *duration, &read)
			if err != nil {
				return fmt.Errorf("%s: %w", configs[i].name, err)
			}
			samples[i] = append(samples[i], s)
			progNs[i] = append(progNs[i], ns)
		}
	}
	report(configs, samples, progNs, *rounds, *duration, *payload, *bpfStats)

	far4, far6 := netip.MustParseAddr("223.1.2.3"), netip.MustParseAddr("fd00:200::1")
	near6, listed6 := nearV6(bigList())
	x1, x10k := one.Programs()["xdp_guard"], big.Programs()["xdp_guard"]
	return runCost([]costCase{
		{"empty XDP program, IPv4", empty, frame(testnet.Allowed4, *payload), 2},
		{"1 prefix, ARP", x1, arpFrame(), 2},
		{"1 prefix, IPv4 unlisted, no listed prefix in its /16", x1, frame(far4, *payload), 2},
		{"1 prefix, IPv4 unlisted, a listed prefix in its /16", x1, frame(testnet.Allowed4, *payload), 2},
		{"1 prefix, IPv4 listed (drop)", x1, frame(testnet.Blocked4, *payload), 1},
		{"10k, IPv4 unlisted, no listed prefix in its /16", x10k, frame(far4, *payload), 2},
		{"10k, IPv4 unlisted, a listed prefix in its /16", x10k, frame(testnet.Allowed4, *payload), 2},
		{"10k, IPv4 listed (drop)", x10k, frame(testnet.Blocked4, *payload), 1},
		{"10k, IPv6 unlisted, no listed prefix in its class", x10k, frame(far6, *payload), 2},
		{"10k, IPv6 unlisted, a listed prefix in its /32", x10k, frame(near6, *payload), 2},
		{"10k, IPv6 listed (drop)", x10k, frame(listed6, *payload), 1},
	}, *rounds, *repeat)
}

// measure attaches c, floods for d and detaches. It returns rates per
// second and the attached program's ns per run (0 without -bpf-stats).
func measure(n *testnet.Pair, c config, snd sender, d time.Duration, read *atomic.Uint64) (sample, float64, error) {
	var prog *ebpf.Program
	if c.empty != nil {
		detach, err := attachXDP(n.Receiver, c.empty)
		if err != nil {
			return sample{}, 0, err
		}
		defer detach()
		prog = c.empty
	}
	if c.guard != nil {
		mode, err := c.guard.AttachIn(n.Receiver, testnet.ReceiverIf)
		if err != nil {
			return sample{}, 0, err
		}
		defer c.guard.DetachIn(n.Receiver, testnet.ReceiverIf)
		prog = c.guard.Programs()["xdp_guard"]
		if mode == xdpguard.ModeTCX {
			prog = c.guard.Programs()["tc_guard"]
		}
	}
	dropped := func() uint64 {
		if c.guard == nil {
			return 0
		}
		s, _ := c.guard.StatsOf(testnet.List4)
		return s.Packets
	}
	runStats := func() (uint64, time.Duration) {
		if prog == nil {
			return 0, 0
		}
		st, err := prog.Stats()
		if err != nil {
			return 0, 0
		}
		return st.RunCount, st.Runtime
	}

	var stop atomic.Bool
	var sent atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); blast(snd, &stop, &sent) }()
	defer wg.Wait()
	defer stop.Store(true)
	time.Sleep(100 * time.Millisecond) // warm up: the queues fill, NAPI settles

	in0, buf0, err := udpCounters(n.Receiver)
	if err != nil {
		return sample{}, 0, err
	}
	s0, d0, r0 := sent.Load(), dropped(), read.Load()
	cnt0, rt0 := runStats()
	start := time.Now()
	time.Sleep(d)
	s1, d1, r1 := sent.Load(), dropped(), read.Load()
	cnt1, rt1 := runStats()
	elapsed := time.Since(start)
	in1, buf1, err := udpCounters(n.Receiver)
	if err != nil {
		return sample{}, 0, err
	}
	sec := elapsed.Seconds()
	s := sample{
		sent:      float64(s1-s0) / sec,
		dropped:   float64(d1-d0) / sec,
		delivered: float64(in1-in0) / sec,
		read:      float64(r1-r0) / sec,
		rcvbuf:    float64(buf1-buf0) / sec,
	}
	var ns float64
	if cnt1 > cnt0 {
		ns = float64(rt1-rt0) / float64(cnt1-cnt0)
	}
	return s, ns, nil
}

// bigList is 10 000 prefixes that hold none of the bench's other
// addresses: testnet.List4, 8 999 random IPv4 /16../32 and 1 000 IPv6 /32../128.
func bigList() []xdpguard.Source {
	rng := rand.New(rand.NewPCG(1, 2))
	v := pinned.Verdict{Enforce: 1}
	out := []xdpguard.Source{{Prefix: testnet.List4, Verdict: v}}
	seen := map[netip.Prefix]bool{testnet.List4: true}
	for len(out) < 10_000 {
		var p netip.Prefix
		if len(out) < 9_000 {
			a := [4]byte{byte(11 + rng.IntN(212)), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}
			p, _ = netip.AddrFrom4(a).Prefix(16 + rng.IntN(17))
		} else {
			var a [16]byte
			a[0], a[1] = 0x20, 0x01
			for i := 2; i < 16; i++ {
				a[i] = byte(rng.Uint32())
			}
			p, _ = netip.AddrFrom16(a).Prefix(32 + rng.IntN(97))
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, xdpguard.Source{Prefix: p, Verdict: v})
		}
	}
	return out
}

// nearV6 returns an address in the /32 of a listed IPv6 prefix but outside
// it (its prefix's last bit flipped), and one inside it.
func nearV6(list []xdpguard.Source) (near, in netip.Addr) {
	for _, s := range list {
		p := s.Prefix
		if p.Addr().Is6() && p.Bits() >= 40 {
			a := p.Addr().As16()
			bit := p.Bits() - 1
			a[bit/8] ^= 0x80 >> (bit % 8)
			return netip.AddrFrom16(a), p.Addr()
		}
	}
	panic("no IPv6 prefix of /40 or longer in the list")
}

func report(configs []config, samples [][]sample, progNs [][]float64, rounds int, d time.Duration, payload int, bpfStats bool) {
	fmt.Printf("## Flood on a veth pair (%d rounds of %v, %d-byte frames, medians)\n\n", rounds, d, 14+20+8+payload)
	fmt.Println("sent: accepted by sendmmsg; dropped: counted by the program; delivered: UDP InDatagrams in the receiver's namespace; read: recvmmsg by the reader; rcvbuf: refused by the full socket; ratio: handled (dropped + delivered) to its baseline's delivered, same round")
	fmt.Println()
	hdr := "| configuration | sent pps | dropped pps | delivered pps | read pps | rcvbuf drops pps | ratio |"
	if bpfStats {
		hdr += " program ns/packet |"
	}
	fmt.Println(hdr)
	fmt.Println("|---|---|---|---|---|---|---|" + map[bool]string{true: "---|"}[bpfStats])
	for i, c := range configs {
		var sent, dropped, delivered, read, rcvbuf, ratio []float64
		for r, s := range samples[i] {
			sent = append(sent, s.sent)
			dropped = append(dropped, s.dropped)
			delivered = append(delivered, s.delivered)
			read = append(read, s.read)
			rcvbuf = append(rcvbuf, s.rcvbuf)
			ratio = append(ratio, (s.dropped+s.delivered)/samples[c.base][r].delivered)
		}
		line := fmt.Sprintf("| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f |", c.name, median(sent), median(dropped),
			median(delivered), median(read), median(rcvbuf), median(ratio))
		if bpfStats {
			line += fmt.Sprintf(" %.1f |", median(progNs[i]))
		}
		fmt.Println(line)
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
