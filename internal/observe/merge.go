package observe

// Merge adds o's figures to s: what a folded series shows.
func (s *Stats) Merge(o *Stats) {
	s.RunQueue.Add(&o.RunQueue.Slots, o.RunQueue.SumNs)
	s.OnCPUNs += o.OnCPUNs
	s.Throttled = s.Throttled || o.Throttled
	s.NrThrottled += o.NrThrottled
	s.ThrottledUsec += o.ThrottledUsec
	s.OOMKills += o.OOMKills
	s.Memory = s.Memory || o.Memory
	s.MemoryBytes += o.MemoryBytes
	s.MajorFaults += o.MajorFaults
	s.TCPRTT.Add(&o.TCPRTT.Slots, o.TCPRTT.SumNs)
	s.TCPConnect.Add(&o.TCPConnect.Slots, o.TCPConnect.SumNs)
	s.TCPRetransmits += o.TCPRetransmits
	s.TCPResets += o.TCPResets
	for p, op := range o.TCPPorts {
		sp := s.Port(p)
		sp.RTT.Add(&op.RTT.Slots, op.RTT.SumNs)
		sp.Connect.Add(&op.Connect.Slots, op.Connect.SumNs)
		sp.Retransmits += op.Retransmits
	}
	s.IOLatency.Add(&o.IOLatency.Slots, o.IOLatency.SumNs)
	for op := range OpCount {
		s.IOBytes[op] += o.IOBytes[op]
		s.IOOps[op] += o.IOOps[op]
	}
}
