package agent

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Summary is what the agent saw and lost.
type Summary struct {
	Uptime time.Duration `json:"uptime"`
	// Records counts records read from the ring, by kind.
	Records map[event.Kind]uint64 `json:"records"`
	// Malformed records did not decode and were dropped.
	Malformed uint64 `json:"malformed"`
	// SinkErrors counts failed writes to the output.
	SinkErrors uint64 `json:"sink_errors"`
	// Losses are the kernel's drop counters.
	Losses   []ring.Loss    `json:"losses"`
	ProcTree proctree.Stats `json:"proctree"`
}

// Summary reports the counters. The process tree's size is read without
// locking: call it from the pipeline goroutine or after Run returns.
func (a *Agent) Summary() (Summary, error) {
	s := Summary{
		Uptime:     time.Since(a.started),
		Records:    make(map[event.Kind]uint64),
		Malformed:  a.counts.malformedN.Load(),
		SinkErrors: a.counts.sinkErrN.Load(),
		ProcTree:   a.tree.Stats(),
	}
	for k := range a.counts.byKind {
		if n := a.counts.byKind[k].Load(); n > 0 {
			s.Records[wire.KindName(uint16(k))] = n
		}
	}
	if a.ring != nil {
		losses, err := a.ring.Losses()
		if err != nil {
			return s, err
		}
		s.Losses = losses
	}
	return s, nil
}

// Losses reads the kernel's drop counters.
func (a *Agent) Losses() ([]ring.Loss, error) { return a.ring.Losses() }

// String is the summary printed when the agent stops.
func (s Summary) String() string {
	var b strings.Builder
	var total uint64
	kinds := make([]string, 0, len(s.Records))
	for k, n := range s.Records {
		total += n
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	fmt.Fprintf(&b, "vigil stopped after %s: %d records", s.Uptime.Round(time.Millisecond), total)
	if len(kinds) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(kinds, ", "))
	}
	var dropped, cut uint64
	var lost []string
	for _, l := range s.Losses {
		if l.Reason == ring.Truncated {
			cut += l.Count
			continue
		}
		dropped += l.Count
		lost = append(lost, fmt.Sprintf("%s %s %d", l.Kind, l.Reason, l.Count))
	}
	fmt.Fprintf(&b, "; dropped %d in the kernel", dropped)
	if len(lost) > 0 {
		sort.Strings(lost)
		fmt.Fprintf(&b, " (%s)", strings.Join(lost, ", "))
	}
	fmt.Fprintf(&b, ", %d malformed; %d truncated", s.Malformed, cut)
	// the outputs' own errors are in their summary line; these are
	// writes the sink refused outright (the fan-out never does)
	if s.SinkErrors > 0 {
		fmt.Fprintf(&b, "; %d writes refused by the output", s.SinkErrors)
	}
	fmt.Fprintf(&b, "; process cache %d entries (%d evicted, %d expired)",
		s.ProcTree.Entries, s.ProcTree.Evictions, s.ProcTree.Expired)
	return b.String()
}
