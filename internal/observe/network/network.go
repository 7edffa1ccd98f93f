// Package network is the network observer: TCP round-trip time and
// connect latency histograms, retransmits and resets per cgroup v2,
// counted in the kernel at tcp_probe, inet_sock_set_state,
// tcp_retransmit_skb, tcp_send_reset and tcp_receive_reset (tp_btf), each
// charged to the cgroup that created the socket; and, for the remote
// ports it is told to watch, RTT, connect latency and retransmits per
// (cgroup, remote port).
package network

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Observer is the loaded network observer.
type Observer struct {
	*observe.Table[networkNetStats]
}

// Load loads and attaches the observer; cgroups sizes its per-cgroup
// table (0: observe.DefaultCgroups).
func Load(r *ring.Ring, cgroups int) (*Observer, error) {
	o := &Observer{}
	t, err := observe.LoadTable(r, cgroups, observe.TableSpec[networkNetStats]{Name: observe.Network, Load: loadNetwork, Add: add, Then: o.readPorts})
	if err != nil {
		return nil, err
	}
	o.Table = t
	return o, nil
}

// add adds a cgroup's TCP figures.
func add(_ uint64, st *observe.Stats, per []networkNetStats) {
	for _, v := range per {
		st.TCPRTT.Add(&v.Rtt.Slots, v.Rtt.SumNs)
		st.TCPConnect.Add(&v.Connect.Slots, v.Connect.SumNs)
		st.TCPRetransmits += v.Retransmits
		st.TCPResets += v.Resets
	}
}

// Watch makes ports the remote ports whose figures are kept apart, at
// most observe.MaxRemotePorts of them; a port no longer listed stops
// being counted (its figures so far stay). With none, the programs skip
// the port lookup altogether.
func (o *Observer) Watch(ports []uint16) error {
	if len(ports) > observe.MaxRemotePorts {
		return fmt.Errorf("watch %d remote ports; at most %d", len(ports), observe.MaxRemotePorts)
	}
	m := o.Coll.Maps[networkMapWatchedPorts]
	var (
		stale []uint16
		p     uint16
		on    uint8
	)
	it := m.Iterate()
	for it.Next(&p, &on) {
		if !slices.Contains(ports, p) {
			stale = append(stale, p)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read watched ports: %w", err)
	}
	for _, p := range stale {
		if err := m.Delete(p); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("unwatch port %d: %w", p, err)
		}
	}
	for _, p := range ports {
		if err := m.Put(p, uint8(1)); err != nil {
			return fmt.Errorf("watch port %d: %w", p, err)
		}
	}
	// the programs look ports up only while this is not 0
	n := uint32(len(slices.Compact(slices.Sorted(slices.Values(ports)))))
	if err := o.Coll.Variables[networkVarWatchedPortCount].Set(n); err != nil {
		return fmt.Errorf("set watched port count: %w", err)
	}
	return nil
}

// readPorts adds the watched ports' figures, and the samples their table
// had no room for (network/ports_full), to s.
func (o *Observer) readPorts(s *observe.Snapshot) error {
	err := observe.EachPerCPU(o.Coll.Maps[networkMapPorts], func(k networkNetPortKey, per []networkNetPortStats) {
		tp := s.Cgroup(k.Cgroup).Port(k.Port)
		for _, v := range per {
			tp.RTT.Add(&v.Rtt.Slots, v.Rtt.SumNs)
			tp.Connect.Add(&v.Connect.Slots, v.Connect.SumNs)
			tp.Retransmits += v.Retransmits
		}
	})
	if err != nil {
		return err
	}
	var lost []uint64
	if err := o.Coll.Maps[networkMapPortLosses].Lookup(uint32(0), &lost); err != nil {
		return fmt.Errorf("read port losses: %w", err)
	}
	for _, n := range lost {
		s.Losses[observe.Network+"/ports_full"] += n
	}
	return nil
}

// Forget deletes ids' entries from the per-cgroup table and from the
// watched ports' table; it counts the former.
func (o *Observer) Forget(ids []uint64) (int, error) {
	n, err := o.Table.Forget(ids)
	if err != nil {
		return n, err
	}
	var stale []networkNetPortKey
	m := o.Coll.Maps[networkMapPorts]
	err = observe.EachPerCPU(m, func(k networkNetPortKey, _ []networkNetPortStats) {
		if slices.Contains(ids, k.Cgroup) {
			stale = append(stale, k)
		}
	})
	if err != nil {
		return n, err
	}
	for _, k := range stale {
		if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return n, fmt.Errorf("delete cgroup %d port %d: %w", k.Cgroup, k.Port, err)
		}
	}
	return n, nil
}
