// Package network is the network observer: TCP round-trip time and
// connect latency histograms, retransmits and resets per cgroup v2,
// counted in the kernel at tcp_probe, inet_sock_set_state,
// tcp_retransmit_skb, tcp_send_reset and tcp_receive_reset (tp_btf), each
// charged to the cgroup that created the socket.
package network

import (
	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Observer is the loaded network observer.
type Observer struct{ observe.Object }

// Load loads and attaches the observer; cgroups sizes its per-cgroup
// table (0: observe.DefaultCgroups).
func Load(r *ring.Ring, cgroups int) (*Observer, error) {
	obj, err := observe.LoadObject(r, observe.Network, loadNetwork, cgroups)
	if err != nil {
		return nil, err
	}
	return &Observer{Object: obj}, nil
}

// Name is observe.Network.
func (o *Observer) Name() string { return observe.Network }

// Read adds every cgroup's TCP figures.
func (o *Observer) Read(s *observe.Snapshot) error {
	err := observe.ReadPerCPU(o.Coll.Maps[networkMapStats], func(id uint64, per []networkNetStats) {
		st := s.Cgroup(id)
		for _, v := range per {
			st.TCPRTT.Add(&v.Rtt.Slots, v.Rtt.SumNs)
			st.TCPConnect.Add(&v.Connect.Slots, v.Connect.SumNs)
			st.TCPRetransmits += v.Retransmits
			st.TCPResets += v.Resets
		}
	})
	if err != nil {
		return err
	}
	return observe.ReadLosses(observe.Network, o.Loaded, s)
}
