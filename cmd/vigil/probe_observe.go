package main

import (
	"io"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/observe/cpu"
	obsio "github.com/vigil-sec/vigil/internal/observe/io"
	"github.com/vigil-sec/vigil/internal/observe/memory"
	"github.com/vigil-sec/vigil/internal/observe/network"
	"github.com/vigil-sec/vigil/internal/ring"
)

// probeObservers loads each performance observer for real, on a ring of
// its own, and says whether it runs (--observe) on this kernel.
func probeObservers() []kernel.Capability {
	hooks := map[string]string{
		observe.CPU:     "tp_btf sched_switch reading sched_info; task storage; cpu.stat from cgroupfs",
		observe.Memory:  "tp_btf mark_victim; memory.current/usage_in_bytes and memory.stat from cgroupfs",
		observe.Network: "tp_btf tcp_probe, inet_sock_set_state, tcp_retransmit_skb, tcp_send_reset, tcp_receive_reset",
		observe.IO:      "tp_btf block_io_start, block_rq_issue, block_rq_complete",
	}
	load := map[string]func(r *ring.Ring) (io.Closer, error){
		observe.CPU:     func(r *ring.Ring) (io.Closer, error) { return cpu.Load(r, 16, nil) },
		observe.Memory:  func(r *ring.Ring) (io.Closer, error) { return memory.Load(r, 16, nil) },
		observe.Network: func(r *ring.Ring) (io.Closer, error) { return network.Load(r, 16) },
		observe.IO:      func(r *ring.Ring) (io.Closer, error) { return obsio.Load(r, 16) },
	}
	var out []kernel.Capability
	r, err := ring.New(ring.Config{Size: 1 << 16})
	if err != nil {
		for _, name := range observe.AllNames() {
			out = append(out, kernel.Capability{Name: "observe " + name, Status: kernel.StatusUnavailable, Detail: "no ring buffer: " + err.Error()})
		}
		return out
	}
	defer func() { _ = r.Close() }() // only the probe used it
	for _, name := range observe.AllNames() {
		c := kernel.Capability{Name: "observe " + name, Status: kernel.StatusFull, Detail: hooks[name]}
		o, err := load[name](r)
		if err != nil {
			c.Status, c.Detail = kernel.StatusUnavailable, err.Error()
		} else {
			_ = o.Close() // loaded and attached: that was the proof
		}
		out = append(out, c)
	}
	return out
}
