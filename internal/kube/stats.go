package kube

import (
	"sync/atomic"
	"time"
)

// counters are the source's, atomic: the metrics and the status read them
// from their own goroutines.
type counters struct {
	criOK, criFailed, criDropped atomic.Uint64
	givenUp                      atomic.Uint64
	watchErrors, watchStarts     atomic.Uint64
	listErrors                   atomic.Uint64
	// lastOK is when the API server last answered a list or a watch
	// (Unix nanoseconds); connected is false from a watch error until the
	// next answer.
	lastOK    atomic.Int64
	connected atomic.Bool
}

// Stats are the source's numbers, for metrics and status.
type Stats struct {
	// Pods are the live pods known, Retained the deleted ones kept for
	// late events, Placeholders the pods met through a container before
	// the API server reported them; all three count against MaxPods.
	Pods, Retained, Placeholders int
	MaxPods                      int
	// Containers are the containers known, from pods' statuses and from
	// lookups.
	Containers int
	// Evictions counts pods dropped, or refused, because the index was
	// full.
	Evictions uint64
	// CRI lookups that answered, failed, or were dropped (queue full).
	CRIOK, CRIFailed, CRIDropped uint64
	// GivenUp counts containers settled without anything learnt: the
	// runtime did not answer and the pod did not come in time.
	GivenUp uint64
	// WatchErrors counts the watch's errors (each is followed by a
	// retry, with backoff), WatchRestarts the watches opened.
	WatchErrors, WatchRestarts, ListErrors uint64
	// Synced: the first list of the node's pods arrived. Connected: the
	// last call to the API server succeeded. LastOK is when.
	Synced, Connected bool
	LastOK            time.Time
	// CRISocket is the runtime's socket, "" when lookups are off.
	CRISocket string
}

// Stats reads the source's numbers. Safe for concurrent use.
func (s *Source) Stats() Stats {
	is := s.idx.stats()
	st := Stats{
		Pods: is.pods, Retained: is.retained, Placeholders: is.placeholders, MaxPods: s.cfg.MaxPods,
		Containers: is.containers, Evictions: is.evictions,
		CRIOK: s.counts.criOK.Load(), CRIFailed: s.counts.criFailed.Load(), CRIDropped: s.counts.criDropped.Load(),
		GivenUp:     s.counts.givenUp.Load(),
		WatchErrors: s.counts.watchErrors.Load(), WatchRestarts: s.counts.watchStarts.Load(),
		ListErrors: s.counts.listErrors.Load(),
		Synced:     s.synced(), Connected: s.counts.connected.Load(),
		CRISocket: s.criSocket(),
	}
	if ns := s.counts.lastOK.Load(); ns != 0 {
		st.LastOK = time.Unix(0, ns)
	}
	return st
}

func (s *Source) criSocket() string {
	if s.cri == nil {
		return ""
	}
	return s.cri.socket
}
