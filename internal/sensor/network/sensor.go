// Package network is the network sensor: connect, accept, listen, bind,
// raw and packet sockets, the end of TCP connections, DNS queries and
// sockets duplicated onto stdin/stdout/stderr. It attaches one classic
// tracepoint per watched system call, so that system calls it does not
// watch pay only the kernel's syscall-tracepoint check, and
// tp_btf/inet_sock_set_state for the end of TCP connections, which it
// reports for the process that opened them.
package network

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
)

// MaxDNSPorts is how many DNS ports the kernel side can watch
// (DNS_PORTS_MAX in network.h; setting the knob checks the size).
const MaxDNSPorts = 8

// Config tunes the network sensor.
type Config struct {
	// DNSPorts are the UDP destination ports whose payload is read as a
	// DNS query. nil means DefaultConfig's {53}; an empty, non-nil slice
	// turns DNS off. At most MaxDNSPorts.
	DNSPorts []uint16
	// Unix reports AF_UNIX sockets too (connect, accept, listen, bind,
	// fd_redirect). Off by default: local IPC is very frequent.
	Unix bool
	// Sockets is how many open TCP sockets are followed until they close
	// (for net_close); 0 means DefaultConfig's. A full table is counted
	// as a map_full loss of net_close.
	Sockets int
}

// DefaultConfig is what the agent runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{DNSPorts: []uint16{53}, Sockets: 65536}
}

// withDefaults fills what the caller left unset.
func (c Config) withDefaults() Config {
	def := DefaultConfig()
	if c.DNSPorts == nil {
		c.DNSPorts = def.DNSPorts
	}
	if c.Sockets == 0 {
		c.Sockets = def.Sockets
	}
	return c
}

// Validate says what is wrong with c, naming the field.
func (c Config) Validate() error {
	if len(c.DNSPorts) > MaxDNSPorts {
		return fmt.Errorf("network.dns_ports: %d ports, at most %d are supported", len(c.DNSPorts), MaxDNSPorts)
	}
	for i, p := range c.DNSPorts {
		if p == 0 {
			return fmt.Errorf("network.dns_ports[%d]: port 0 is not a port; want 1-65535", i)
		}
	}
	if c.Sockets < 0 {
		return fmt.Errorf("network.sockets: %d; want a positive count, or 0 for the default", c.Sockets)
	}
	return nil
}

// Kinds are the event kinds the sensor produces, as internal/event's table
// of kinds lists them; one Decoder handles all.
func Kinds() []event.Kind {
	return event.KindsOf(event.FamilyNetwork)
}

// Sensor holds the loaded collection and its attachments.
type Sensor struct {
	coll  *ebpf.Collection
	links []link.Link
}

// Load loads the sensor's programs, sharing r's ring buffer, and attaches
// them. Nothing is reported before Load returns.
func Load(r *ring.Ring, cfg Config) (*Sensor, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// tracefs first: cilium/ebpf remembers a missing tracefs for the life
	// of the process
	if _, err := kernel.EnsureMounts(); err != nil {
		return nil, err
	}
	spec, err := loadNetwork()
	if err != nil {
		return nil, err
	}
	if err := setKnobs(spec, cfg); err != nil {
		return nil, err
	}
	if len(cfg.DNSPorts) == 0 {
		// DNS off: its programs are neither loaded nor attached, so that
		// write, the hottest call, pays nothing for it
		for _, name := range dnsPrograms {
			delete(spec.Programs, name)
		}
	}
	spec.Maps[networkMapOwners].MaxEntries = uint32(cfg.Sockets)
	copts, err := r.CollectionOptions(spec)
	if err != nil {
		return nil, err
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, *copts)
	if err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("load network sensor: %+v", verr)
		}
		return nil, fmt.Errorf("load network sensor: %w", err)
	}
	s := &Sensor{coll: coll}
	if err := s.attach(spec); err != nil {
		_ = s.Close() // best effort: err is what failed
		return nil, err
	}
	return s, nil
}

// dnsPrograms only look for DNS queries (dns.bpf.h).
var dnsPrograms = []string{
	networkProgEnterWrite, networkProgEnterSendto, networkProgEnterSendmsg, networkProgEnterSendmmsg,
}

func setKnobs(spec *ebpf.CollectionSpec, cfg Config) error {
	var ports [MaxDNSPorts]uint16
	copy(ports[:], cfg.DNSPorts)
	knobs := map[string]any{
		networkVarDnsPorts:     ports,
		networkVarDnsPortCount: uint32(len(cfg.DNSPorts)),
		networkVarReportUnix:   cfg.Unix,
	}
	for name, value := range knobs {
		if err := spec.Variables[name].Set(value); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
	}
	return nil
}

// attach attaches every program to the hook its section names
// ("tracepoint/syscalls/sys_enter_connect", "tp_btf/inet_sock_set_state"):
// the C file is the one list.
func (s *Sensor) attach(spec *ebpf.CollectionSpec) error {
	for name, ps := range spec.Programs {
		l, err := attachOne(ps, s.coll.Programs[name])
		if err != nil {
			return fmt.Errorf("attach %s to %s: %w", name, ps.AttachTo, err)
		}
		s.links = append(s.links, l)
	}
	return nil
}

func attachOne(ps *ebpf.ProgramSpec, prog *ebpf.Program) (link.Link, error) {
	switch ps.Type {
	case ebpf.TracePoint:
		group, name, ok := strings.Cut(ps.AttachTo, "/")
		if !ok {
			return nil, fmt.Errorf("tracepoint %q has no group", ps.AttachTo)
		}
		return link.Tracepoint(group, name, prog, nil)
	case ebpf.Tracing:
		return link.AttachTracing(link.TracingOptions{Program: prog})
	}
	return nil, fmt.Errorf("program type %s is not attached by this sensor", ps.Type)
}

// OpenSockets counts the TCP sockets of process pid that the sensor
// follows until they close: once pid's sockets are all closed, none.
func (s *Sensor) OpenSockets(pid uint32) (int, error) {
	var (
		n     int
		sk    uint64
		owner networkSockOwner
	)
	it := s.coll.Maps[networkMapOwners].Iterate()
	for it.Next(&sk, &owner) {
		if owner.Tgid == pid {
			n++
		}
	}
	if err := it.Err(); err != nil {
		return n, fmt.Errorf("read socket owners: %w", err)
	}
	return n, nil
}

// Close detaches the programs and releases them. The links are closed
// at once: each detach waits for an RCU grace period, and one after the
// other they add up to seconds on a busy machine.
func (s *Sensor) Close() error {
	errs := make([]error, len(s.links))
	var wg sync.WaitGroup
	for i, l := range s.links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.Close()
		}()
	}
	wg.Wait()
	s.links = nil
	s.coll.Close()
	return errors.Join(errs...)
}

// Misses counts the runs of the system call programs that the kernel
// skipped because a BPF program was already running on the CPU: records
// that were never made. The kernel counts these whether or not statistics
// are enabled. The two handlers of socket state changes are left out: each
// takes the changes the other was skipped for (see network.bpf.c).
func (s *Sensor) Misses() (uint64, error) {
	stats, err := s.ProgramStats()
	if err != nil {
		return 0, err
	}
	var n uint64
	for name, st := range stats {
		if name != networkProgHandleSetState && name != networkProgHandleSetStateAgain {
			n += st.RecursionMisses
		}
	}
	return n, nil
}

// Programs are the sensor's loaded programs by name, for the agent's
// program statistics. handle_set_state and handle_set_state_again take
// each other's skipped runs, so their recursion misses lose nothing.
func (s *Sensor) Programs() map[string]*ebpf.Program {
	return maps.Clone(s.coll.Programs)
}

// ProgramStats reports, by program name, how often each program ran and
// for how long. The kernel only counts while statistics are enabled
// (ebpf.EnableStats, or sysctl kernel.bpf_stats_enabled).
func (s *Sensor) ProgramStats() (map[string]*ebpf.ProgramStats, error) {
	stats := make(map[string]*ebpf.ProgramStats, len(s.coll.Programs))
	for name, p := range s.coll.Programs {
		st, err := p.Stats()
		if err != nil {
			return nil, fmt.Errorf("stats of %s: %w", name, err)
		}
		stats[name] = st
	}
	return stats, nil
}
