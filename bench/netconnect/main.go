// Command netconnect measures what the network sensor costs the calls it
// watches and the calls it does not: loops of connect+accept+close over
// loopback, of DNS queries, of UDP sends and writes that are not DNS, and
// of getppid, each run without (A) and with (B) the sensor loaded, in
// adjacent pairs of alternating order, reported as medians of A and B and
// of the paired deltas and ratios. The sensor runs in this process with
// its own ring and a reader that decodes every record, as the agent
// would; this process is not exempt, so its calls are the ones traced.
// With -baseline nopayload, A is the sensor with its look at received
// bytes off (network.Config.NoPayload) and B the sensor whole: B − A is
// what the net_payload check costs.
// Costs are given twice: as CPU time of the calling thread, which includes
// the BPF programs it runs and leaves out time it spent preempted on a
// shared machine, and as wall time, which includes the softirq work of
// loopback TCP that the kernel does not charge to it.
//
//	go run ./bench/netconnect -rounds 31
//	go run ./bench/netconnect -rounds 31 -baseline nopayload
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync/atomic"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/network"
)

// workload runs n operations and returns what they cost.
type workload struct {
	name string
	n    int
	run  func(n int) cost
}

func main() {
	rounds := flag.Int("rounds", 31, "A/B pairs per workload")
	conns := flag.Int("connects", 2000, "connect+accept+close per measurement")
	calls := flag.Int("calls", 200_000, "getppid, write and sendto calls per measurement")
	baseline := flag.String("baseline", "none", "what A runs: none (no sensor) or nopayload (the sensor without its received-bytes check)")
	bpfStats := flag.Bool("bpf-stats", false, "also report the CPU time of each BPF program (enables kernel BPF statistics, machine-wide, while it runs)")
	flag.Parse()
	if os.Geteuid() != 0 {
		fail("loading eBPF programs needs root: run as root")
	}
	if *baseline != "none" && *baseline != "nopayload" {
		fail("-baseline %q: want none or nopayload", *baseline)
	}
	runtime.LockOSThread() // every loop runs on this thread

	env, err := newLoopback()
	if err != nil {
		fail("%v", err)
	}
	defer env.close()
	works := []workload{
		{"connect+accept+close, TCP over loopback (4 records)", *conns, env.connectLoop},
		{"sendto of a DNS query to a DNS port (1 record)", *conns * 10, env.dnsLoop},
		{"sendto of 64 B UDP, not a DNS port (no record)", *calls, env.udpLoop},
		{"write of 64 B to /dev/null (not a socket, no record)", *calls, env.writeLoop},
		{"send+recvfrom of 64 B UDP (received bytes looked at, no record)", *calls, env.recvLoop},
		{"write+read of 64 B over a TCP connection (looked at, no record)", *calls, env.streamLoop},
		{"send+recvfrom of 64 B UDP starting with CA FE BA BE (1 record)", *conns * 10, env.classLoop},
		{"read of 64 B from /dev/zero (not a socket)", *calls, env.zeroLoop},
		{"getppid (not watched)", *calls, getppidLoop},
	}

	r, err := ring.New(ring.DefaultConfig())
	if err != nil {
		fail("ring: %v", err)
	}
	defer r.Close()
	var records, malformed atomic.Uint64
	dec := network.Decoder{Clock: kernel.NewBootClock().Time}
	read := make(chan error, 1)
	go func() {
		read <- r.Read(func(raw []byte) {
			if _, err := dec.Decode(raw); err != nil {
				malformed.Add(1)
				return
			}
			records.Add(1)
		}, func() {})
	}()
	cfg := network.DefaultConfig()
	cfg.DNSPorts = []uint16{53, env.dnsPort}
	aCfg := cfg
	aCfg.NoPayload = true

	if *bpfStats {
		stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
		if err != nil {
			fail("enable BPF statistics: %v", err)
		}
		defer stats.Close()
	}
	// per workload: what the sensor's programs ran while B measured it
	progs := make([]map[string]*ebpf.ProgramStats, len(works))
	for i := range progs {
		progs[i] = map[string]*ebpf.ProgramStats{}
	}

	// per workload: CPU and wall time per op, without (a) and with (b).
	// Each A measurement is next to its B, so that both see the same
	// load on a shared machine; the order within a pair alternates.
	var aCPU, bCPU, aWall, bWall = series(len(works)), series(len(works)), series(len(works)), series(len(works))
	for round := 0; round < *rounds; round++ {
		for i, w := range works {
			for _, withSensor := range order(round + i) {
				var (
					s       *network.Sensor
					loadErr error
				)
				switch {
				case withSensor:
					s, loadErr = network.Load(r, cfg)
				case *baseline == "nopayload":
					s, loadErr = network.Load(r, aCfg)
				}
				if loadErr != nil {
					fail("load sensor: %v", loadErr)
				}
				c := w.run(w.n)
				cpu, wall := float64(c.cpu)/float64(w.n), float64(c.wall)/float64(w.n)
				if withSensor {
					bCPU[i], bWall[i] = append(bCPU[i], cpu), append(bWall[i], wall)
				} else {
					aCPU[i], aWall[i] = append(aCPU[i], cpu), append(aWall[i], wall)
				}
				if s == nil {
					continue
				}
				if *bpfStats && withSensor {
					addStats(progs[i], s)
				}
				if err := s.Close(); err != nil {
					fail("close sensor: %v", err)
				}
			}
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done\n", round+1, *rounds)
	}
	if err := r.Stop(); err != nil {
		fail("stop ring: %v", err)
	}
	if err := <-read; err != nil {
		fail("read ring: %v", err)
	}
	losses, err := r.Losses()
	if err != nil {
		fail("%v", err)
	}

	a := "no sensor"
	if *baseline == "nopayload" {
		a = "network sensor without its received-bytes check (NoPayload)"
	}
	fmt.Printf("rounds: %d, A = %s, B = network sensor loaded (DNS ports 53 and %d), medians per call\n", *rounds, a, env.dnsPort)
	table("CPU time of the calling thread (leaves out preemption, and softirq work)", works, aCPU, bCPU)
	table("wall time (includes softirq work, and preemption by other load)", works, aWall, bWall)
	fmt.Printf("\nrecords decoded: %d, malformed: %d, kernel losses: %+v\n", records.Load(), malformed.Load(), losses)
	if *bpfStats {
		printStats(progs, works, *rounds)
	}
}

// addStats adds what s's programs ran to the totals.
func addStats(total map[string]*ebpf.ProgramStats, s *network.Sensor) {
	stats, err := s.ProgramStats()
	if err != nil {
		fail("%v", err)
	}
	sumStats(total, stats)
}

// sumStats adds the runs and run times of stats to total, by program.
func sumStats(total, stats map[string]*ebpf.ProgramStats) {
	for name, st := range stats {
		t := total[name]
		if t == nil {
			t = &ebpf.ProgramStats{}
			total[name] = t
		}
		t.Runtime += st.Runtime
		t.RunCount += st.RunCount
	}
}

// printStats prints each program's runs and CPU per run over all B
// measurements, then per workload: runs per call and CPU per run, for
// the programs that ran at least once per 100 calls. Runs are
// machine-wide: other processes' calls while B ran count too.
func printStats(per []map[string]*ebpf.ProgramStats, works []workload, rounds int) {
	total := map[string]*ebpf.ProgramStats{}
	for _, m := range per {
		sumStats(total, m)
	}
	names := make([]string, 0, len(total))
	for name, st := range total {
		if st.RunCount > 0 {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool { return total[names[i]].Runtime > total[names[j]].Runtime })
	fmt.Printf("\n| BPF program | runs | CPU per run |\n|---|---|---|\n")
	for _, name := range names {
		st := total[name]
		fmt.Printf("| %s | %d | %d ns |\n", name, st.RunCount, int64(st.Runtime)/int64(st.RunCount))
	}
	fmt.Printf("\n| per call | BPF program | runs per call | CPU per run | CPU per call |\n|---|---|---|---|---|\n")
	for i, w := range works {
		calls := float64(rounds * w.n)
		for _, name := range names {
			st := per[i][name]
			if st == nil || float64(st.RunCount) < calls/100 {
				continue // other processes' calls, not this workload's
			}
			fmt.Printf("| %s | %s | %.3f | %d ns | %.0f ns |\n", w.name, name, float64(st.RunCount)/calls,
				int64(st.Runtime)/int64(st.RunCount), float64(st.Runtime)/calls)
		}
	}
}

func series(n int) [][]float64 { return make([][]float64, n) }

// table prints medians of A and B, and the medians of the paired
// differences and ratios, which drift on a shared machine cancels out of.
func table(title string, works []workload, a, b [][]float64) {
	fmt.Printf("\n%s:\n\n| per call | A | B | B − A (paired) | B/A (paired) |\n|---|---|---|---|---|\n", title)
	for i, w := range works {
		var delta, ratio []float64
		for j := range a[i] {
			delta = append(delta, b[i][j]-a[i][j])
			ratio = append(ratio, b[i][j]/a[i][j])
		}
		fmt.Printf("| %s | %.0f ns | %.0f ns | %+.0f ns | %.3f |\n", w.name, median(a[i]), median(b[i]), median(delta), median(ratio))
	}
}

// order alternates which half of a round goes first.
func order(round int) []bool {
	if round%2 == 0 {
		return []bool{false, true}
	}
	return []bool{true, false}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/netconnect: "+format+"\n", args...)
	os.Exit(1)
}
