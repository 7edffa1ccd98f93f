// Package network is the network sensor: connect, accept, listen, bind,
// raw and packet sockets, the end of TCP connections, DNS queries,
// sockets duplicated onto stdin/stdout/stderr, and received bytes that
// start with a Java class file or an ELF binary (payload.bpf.h). It
// attaches one classic tracepoint per watched system call, so that system
// calls it does not watch pay only the kernel's syscall-tracepoint check;
// tp_btf/inet_sock_set_state for the end of TCP connections, which it
// reports for the process that opened them; and tp_btf/sock_recv_length,
// which runs for receives on sockets only, for received bytes.
package network

import (
	"fmt"

	"github.com/cilium/ebpf/btf"

	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor"
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
	// NoPayload turns off the look at the first bytes of every receive
	// on an inet socket (net_payload): its program is neither loaded nor
	// attached.
	NoPayload bool
	// Sockets is how many open TCP sockets are followed until they close
	// (for net_close); 0 means DefaultConfig's. A full table is counted
	// as a map_full loss of net_close.
	Sockets int

	// dnsAtEntry reads DNS queries at the entry of write, sendto and
	// sendmsg, as on kernels without sock_send_length: for the tests.
	dnsAtEntry bool
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
	*bpfload.Loaded
	degraded string
}

// recvTracepoint is the kernel's BTF type of the tracepoint net_payload
// comes from, sock/sock_recv_length (Linux 6.3); sendTracepoint is its
// twin, sock/sock_send_length, where DNS queries are seen.
const (
	recvTracepoint = "btf_trace_sock_recv_length"
	sendTracepoint = "btf_trace_sock_send_length"
)

// kernelHasType says whether the running kernel's BTF has a type named
// name; false when the BTF cannot be read (the load then fails anyway).
func kernelHasType(name string) bool {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return false
	}
	_, err = spec.AnyTypeByName(name)
	return err == nil
}

// Load loads the sensor's programs, sharing r's ring buffer, and attaches
// them. Nothing is reported before Load returns.
func Load(r *ring.Ring, cfg Config) (*Sensor, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	spec, err := kernel.LoadSpec(loadNetwork)
	if err != nil {
		return nil, err
	}
	for _, name := range unusedDNSPrograms(cfg) {
		delete(spec.Programs, name)
	}
	var degraded string
	if !cfg.NoPayload && !kernelHasType(recvTracepoint) {
		degraded = "no sock_recv_length tracepoint (added in Linux 6.3): net_payload is not reported"
	}
	if cfg.NoPayload || degraded != "" {
		for _, name := range payloadPrograms {
			delete(spec.Programs, name)
		}
	}
	spec.Maps[networkMapOwners].MaxEntries = uint32(cfg.Sockets)
	l, err := bpfload.Load(r, bpfload.Object{Name: "network sensor", Spec: spec, Knobs: knobs(cfg)})
	if err != nil {
		return nil, err
	}
	return &Sensor{Loaded: l, degraded: degraded}, nil
}

// Describe is the network sensor as the agent runs it.
func Describe(cfg Config) sensor.Description {
	return sensor.Description{Name: "network", Load: func(env sensor.Env) (sensor.Sensor, map[uint16]sensor.Decode, error) {
		decs, err := sensor.ByKind(Kinds(), Decoder{Clock: env.Clock}.Decode)
		if err != nil {
			return nil, nil, err
		}
		s, err := Load(env.Ring, cfg)
		if err != nil {
			return nil, nil, err
		}
		return s, decs, nil
	}}
}

// Degraded says what the sensor cannot report on this kernel: received
// bytes (net_payload) before Linux 6.3; otherwise it runs whole or not at
// all.
func (s *Sensor) Degraded() string { return s.degraded }

// dnsPrograms only look for DNS queries (dns.bpf.h): sendmmsg's at its
// entry, and the others' either at the end of every socket send
// (dnsSendPrograms) or, on kernels without that tracepoint, at the entry
// of write, sendto and sendmsg (dnsEntryPrograms).
var (
	dnsPrograms = []string{networkProgEnterSendmmsg, networkProgHandleSend,
		networkProgEnterWrite, networkProgEnterSendto, networkProgEnterSendmsg}
	dnsSendPrograms  = []string{networkProgHandleSend}
	dnsEntryPrograms = []string{networkProgEnterWrite, networkProgEnterSendto, networkProgEnterSendmsg}
)

// unusedDNSPrograms are the DNS programs cfg leaves out: all of them when
// DNS is off (write, the hottest call, then pays nothing for it); else the
// entry programs where the kernel has sock_send_length, the socket-level
// one where it has not.
func unusedDNSPrograms(cfg Config) []string {
	switch {
	case len(cfg.DNSPorts) == 0:
		return dnsPrograms
	case cfg.dnsAtEntry || !kernelHasType(sendTracepoint):
		return dnsSendPrograms
	}
	return dnsEntryPrograms
}

// payloadPrograms only look at received bytes (payload.bpf.h).
var payloadPrograms = []string{networkProgHandleRecv}

// knobs are the sensor's const volatile settings.
func knobs(cfg Config) map[string]any {
	var ports [MaxDNSPorts]uint16
	copy(ports[:], cfg.DNSPorts)
	return map[string]any{
		networkVarDnsPorts:     ports,
		networkVarDnsPortCount: uint32(len(cfg.DNSPorts)),
		networkVarReportUnix:   cfg.Unix,
	}
}

// OpenSockets counts the TCP sockets of process pid that the sensor
// follows until they close: once pid's sockets are all closed, none.
func (s *Sensor) OpenSockets(pid uint32) (int, error) {
	var (
		n     int
		sk    uint64
		owner networkSockOwner
	)
	it := s.Coll.Maps[networkMapOwners].Iterate()
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
