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
type Observer = observe.Table[networkNetStats]

// Load loads and attaches the observer; cgroups sizes its per-cgroup
// table (0: observe.DefaultCgroups).
func Load(r *ring.Ring, cgroups int) (*Observer, error) {
	return observe.LoadTable(r, cgroups, observe.TableSpec[networkNetStats]{Name: observe.Network, Load: loadNetwork, Add: add})
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
