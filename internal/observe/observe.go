// Package observe holds what the performance observers
// (internal/observe/<name>) share: the per-cgroup figures they read out of
// their kernel tables, the log2 histograms those are counted in, the names
// that switch them on and off, and the cgroupfs readings (CPU throttling,
// memory use, major faults) that no tracepoint gives. The observers
// aggregate in the kernel; nothing here is on the event path.
package observe

import (
	"fmt"
	"slices"
	"strings"
)

// Slots is how many log2 slots a histogram has (OBS_SLOTS in
// bpf/lib/observe.h).
const Slots = 32

// Hist is a log2 histogram of microseconds: Slots[i] counts values v with
// 2^i <= v < 2^(i+1) µs (slot 0 also counts 0, the last slot everything
// above). Its layout is struct obs_hist's, so that each observer's
// generated type converts to it.
type Hist struct {
	Slots [Slots]uint64
	SumNs uint64 // the sum of the values counted, in nanoseconds
}

// Add adds the counts of one CPU's struct obs_hist to h.
func (h *Hist) Add(slots *[Slots]uint64, sumNs uint64) {
	for i, n := range slots {
		h.Slots[i] += n
	}
	h.SumNs += sumNs
}

// Count is how many values h counted.
func (h *Hist) Count() uint64 {
	var n uint64
	for _, c := range h.Slots {
		n += c
	}
	return n
}

// UpperBoundSeconds is slot i's exclusive upper bound, in seconds.
func UpperBoundSeconds(i int) float64 {
	return float64(uint64(1)<<(i+1)) / 1e6
}

// AtLeast counts the values h holds that are at least us microseconds,
// by whole slots: a slot counts when its lower bound is at least us.
func (h *Hist) AtLeast(us uint64) uint64 {
	var n uint64
	for i, c := range h.Slots {
		if uint64(1)<<i >= us {
			n += c
		}
	}
	return n
}

// Sum is the sum of the values counted, in seconds.
func (h *Hist) Sum() float64 { return float64(h.SumNs) / 1e9 }

// Op indexes the block I/O figures: reads, writes.
type Op int

// The block I/O operations counted apart.
const (
	OpRead Op = iota
	OpWrite
	OpCount // how many ops are counted apart
)

// String is the op as a metric label says it.
func (o Op) String() string {
	if o == OpWrite {
		return "write"
	}
	return "read"
}

// Stats are one cgroup's figures, summed over CPUs; each observer fills
// its own part and leaves the rest zero.
type Stats struct {
	// cpu
	RunQueue      Hist   // run-queue latency
	OnCPUNs       uint64 // time its tasks ran
	Throttled     bool   // the throttling figures below were read
	NrThrottled   uint64 // periods it was throttled in (cpu.stat)
	ThrottledUsec uint64 // time it was throttled (cpu.stat)

	// memory
	OOMKills       uint64 // processes the OOM killer chose in it
	Memory         bool   // the memory figures below were read
	MemoryBytes    uint64 // memory.current (v2) or memory.usage_in_bytes (v1)
	MajorFaults    uint64 // pgmajfault from memory.stat
	MemoryReadFrom string // "v2" or "v1": where the figures came from

	// network
	TCPRTT         Hist // smoothed round-trip time, sampled per received segment
	TCPConnect     Hist // SYN sent to established
	TCPRetransmits uint64
	TCPResets      uint64 // sent and received
	// TCPPorts are the figures of the watched remote ports
	// (observe.network.remote_ports) the cgroup's sockets talked to.
	TCPPorts map[uint16]*TCPPort

	// io
	IOLatency Hist // issue to completion
	IOBytes   [OpCount]uint64
	IOOps     [OpCount]uint64
}

// TCPPort is a cgroup's TCP figures for one watched remote port.
type TCPPort struct {
	RTT         Hist
	Connect     Hist
	Retransmits uint64
}

// Port is the cgroup's figures for remote port p, created empty on first
// use.
func (s *Stats) Port(p uint16) *TCPPort {
	if s.TCPPorts == nil {
		s.TCPPorts = make(map[uint16]*TCPPort)
	}
	tp, ok := s.TCPPorts[p]
	if !ok {
		tp = &TCPPort{}
		s.TCPPorts[p] = tp
	}
	return tp
}

// Snapshot is one reading of every observer running.
type Snapshot struct {
	// Cgroups are the figures by cgroup v2 id.
	Cgroups map[uint64]*Stats
	// Losses count samples an observer could not keep, by
	// "observer/reason" (stats_full, pending_full).
	Losses map[string]uint64
}

// NewSnapshot is an empty snapshot.
func NewSnapshot() *Snapshot {
	return &Snapshot{Cgroups: make(map[uint64]*Stats), Losses: make(map[string]uint64)}
}

// Cgroup is id's figures, created empty on first use.
func (s *Snapshot) Cgroup(id uint64) *Stats {
	st, ok := s.Cgroups[id]
	if !ok {
		st = &Stats{}
		s.Cgroups[id] = st
	}
	return st
}

// Names of the observers, in the order --observe lists them.
const (
	CPU     = "cpu"
	Memory  = "memory"
	Network = "network"
	IO      = "io"
)

// Config says which observers run and how big their tables are.
type Config struct {
	// Observers are the observers to run (ParseNames' result); nil means
	// DefaultNames, an empty list none.
	Observers []string
	// Cgroups sizes each observer's per-cgroup kernel table; 0 means
	// DefaultCgroups.
	Cgroups int
	// MaxSeries caps the cgroups the metrics keep apart; 0 means the
	// metrics' default.
	MaxSeries int
	// RemotePorts are the TCP remote ports whose figures the network
	// observer also keeps apart (at most MaxRemotePorts).
	RemotePorts []uint16
}

// MaxRemotePorts is how many remote ports the network observer can watch
// (NET_MAX_PORTS in internal/observe/network/network.h).
const MaxRemotePorts = 16

// Names are the observers c runs.
func (c Config) Names() []string {
	if c.Observers == nil {
		return DefaultNames()
	}
	return c.Observers
}

// AllNames lists every observer.
func AllNames() []string { return []string{CPU, Memory, Network, IO} }

// ParseNames reads --observe: observer names given as a list or
// comma-separated; "none" is none, "all" every one. The result is in
// AllNames' order, without repeats.
func ParseNames(args []string) ([]string, error) {
	all := AllNames()
	on := make(map[string]bool)
	none := false
	for _, arg := range args {
		for _, name := range strings.Split(arg, ",") {
			name = strings.TrimSpace(name)
			switch {
			case name == "":
			case name == "none":
				none = true
			case name == "all":
				for _, n := range all {
					on[n] = true
				}
			case slices.Contains(all, name):
				on[name] = true
			default:
				return nil, fmt.Errorf("%q is not an observer: want %s, all or none", name, strings.Join(all, ", "))
			}
		}
	}
	if none && len(on) > 0 {
		return nil, fmt.Errorf("observers %q: none excludes naming observers", strings.Join(args, ","))
	}
	out := []string{}
	for _, n := range all {
		if on[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// DefaultNames are the observers vigil runs unless told otherwise: all of
// them (docs/observe.md, "Cost", says what they cost).
func DefaultNames() []string { return AllNames() }
