// Command netdeny measures what the network deny programs
// (internal/enforce/netguard) cost the calls they judge: loops of TCP
// connect+accept+close, UDP connect and unconnected UDP sendto over
// loopback, made by this process from inside a cgroup of its own that a
// policy governs, under four conditions:
//
//	none     no programs attached
//	noop     programs that only return "allow" at connect4 and sendmsg4:
//	         what the kernel's hook costs with any program attached
//	empty    the six programs attached to the cgroup2 root, no entries
//	cidr10k  10 000 deny CIDRs (any protocol, any port), none matching
//	mixed10k 10 000 entries spread over all four (protocol, port) classes
//	         of the measured ports, none matching: four trie lookups a call
//	hostsN   with -hosts N: N single addresses (/32, any protocol and
//	         port), none matching: what an intel feed of N IP indicators
//	         writes (docs/intel.md); the kernel's memory for them is printed
//
// The conditions run in every round in a rotating order, and the report
// gives medians per call and, per round, the ratio and difference to the
// "none" measurement of the same round (the machine is shared and drifts).
// Costs are CPU time of the calling thread (the BPF programs run in it) and
// wall time. It runs as root and cleans up its cgroup and pin directory.
//
//	go run ./bench/netdeny -rounds 21
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/netguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/ring"
)

type workload struct {
	name string
	n    int
	run  func(n int) (cost, error)
}

type condition struct {
	name   string
	attach bool
	noop   bool
	rules  []netguard.Rule
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench/netdeny: %v\n", err)
		os.Exit(1)
	}
}

func run() (err error) {
	rounds := flag.Int("rounds", 21, "rounds; each measures every workload under every condition")
	conns := flag.Int("connects", 2000, "TCP connect+accept+close per measurement")
	calls := flag.Int("calls", 100_000, "UDP connects and sendtos per measurement")
	hostsN := flag.Int("hosts", 0, "also measure with this many /32 deny entries (an intel feed's addresses), e.g. 1000000")
	bpfStats := flag.Bool("bpf-stats", false, "also report the CPU time per run of each program (enables kernel BPF statistics, machine-wide, while it runs)")
	flag.Parse()
	if os.Geteuid() != 0 {
		return errors.New("loading eBPF programs needs root: run as root")
	}
	runtime.LockOSThread() // every loop runs on this thread

	env, err := newLoopback()
	if err != nil {
		return err
	}
	defer env.close()
	works := []workload{
		{"TCP connect+accept+close", *conns, env.tcpLoop},
		{"UDP connect", *calls, env.udpConnectLoop},
		{"UDP sendto, unconnected", *calls, env.sendtoLoop},
	}

	cg, err := enterCgroup()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, cg.leave()) }()

	dir := fmt.Sprintf("/sys/fs/bpf/vigil-bench-netdeny-%d", os.Getpid())
	defer func() { err = errors.Join(err, pinned.Remove(dir)) }()
	state, err := pinned.Open(dir)
	if err != nil {
		return err
	}
	defer state.Close()
	// policy 0 governs the bench's cgroup only
	if err := state.SetPolicies(0, 0, true); err != nil {
		return err
	}
	if err := state.SetScopes(map[uint64]uint64{cg.id: 1}); err != nil {
		return err
	}
	r, err := ring.New(ring.DefaultConfig())
	if err != nil {
		return err
	}
	defer r.Close()
	g, err := netguard.Load(netguard.Options{PinDir: dir, Ring: r})
	if err != nil {
		return err
	}
	defer g.Close()

	conds := []condition{
		{name: "none"},
		{name: "noop", noop: true},
		{name: "empty", attach: true},
		{name: "cidr10k", attach: true, rules: cidrs(10_000)},
		{name: "mixed10k", attach: true, rules: mixed(10_000, env.tcpPort, env.udpPort)},
	}
	if *hostsN > 0 {
		conds = append(conds, condition{name: fmt.Sprintf("hosts%d", *hostsN), attach: true, rules: hosts(*hostsN)})
		if err := g.SetConnectRules(conds[len(conds)-1].rules); err != nil {
			return err
		}
		fmt.Printf("%d /32 entries: net_deny4 memory (the kernel's memlock accounting) %s\n", *hostsN, mapMemory(g))
	}
	if *bpfStats {
		stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
		if err != nil {
			return fmt.Errorf("enable BPF statistics: %w", err)
		}
		defer stats.Close()
	}

	res := newResults(len(conds), len(works))
	attached := false
	for round := -1; round < *rounds; round++ { // round -1 warms up
		for k := range conds {
			ci := (k + round + 1) % len(conds)
			c := conds[ci]
			if c.attach != attached {
				if c.attach {
					err = g.Attach(cg.root)
				} else {
					err = g.Detach()
				}
				if err != nil {
					return err
				}
				attached = c.attach
			}
			if c.attach {
				if err := g.SetConnectRules(c.rules); err != nil {
					return err
				}
			}
			var noop *noopPrograms
			if c.noop {
				if noop, err = attachNoop(cg.root); err != nil {
					return err
				}
			}
			before := progStats(g)
			for wi, w := range works {
				cost, err := w.run(w.n)
				if err != nil {
					return fmt.Errorf("%s under %s: %w", w.name, c.name, err)
				}
				if round >= 0 {
					res.add(ci, wi, cost, w.n)
				}
			}
			if round >= 0 && *bpfStats && c.attach {
				res.addStats(ci, before, progStats(g))
			}
			if noop != nil {
				noop.close()
			}
		}
		if round >= 0 {
			fmt.Fprintf(os.Stderr, "round %d/%d done\n", round+1, *rounds)
		}
	}
	if err := g.Detach(); err != nil {
		return err
	}
	res.print(*rounds, conds, works, *bpfStats)
	hits, err := state.Hits()
	if err != nil {
		return err
	}
	fmt.Printf("\npolicy hits (must be none: no entry matches): %v\n", hits)
	return nil
}

// progStats reads the run time and count of every program.
func progStats(g *netguard.Guard) map[string]ebpf.ProgramStats {
	out := map[string]ebpf.ProgramStats{}
	for name, p := range g.Programs() {
		if st, err := p.Stats(); err == nil {
			out[name] = *st
		}
	}
	return out
}

// noopPrograms return "allow" and nothing else.
type noopPrograms struct {
	progs []*ebpf.Program
	links []link.Link
}

func attachNoop(cgroup string) (*noopPrograms, error) {
	n := &noopPrograms{}
	for _, at := range []ebpf.AttachType{ebpf.AttachCGroupInet4Connect, ebpf.AttachCGroupUDP4Sendmsg} {
		p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Type:         ebpf.CGroupSockAddr,
			AttachType:   at,
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 1), asm.Return()},
			License:      "GPL",
		})
		if err != nil {
			n.close()
			return nil, fmt.Errorf("load noop program: %w", err)
		}
		n.progs = append(n.progs, p)
		l, err := link.AttachCgroup(link.CgroupOptions{Path: cgroup, Attach: at, Program: p})
		if err != nil {
			n.close()
			return nil, fmt.Errorf("attach noop program: %w", err)
		}
		n.links = append(n.links, l)
	}
	return n, nil
}

func (n *noopPrograms) close() {
	for _, l := range n.links {
		l.Close()
	}
	for _, p := range n.progs {
		p.Close()
	}
}
