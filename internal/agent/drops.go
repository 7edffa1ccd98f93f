package agent

import (
	"cmp"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
)

// DefaultDropsInterval is the shortest time between two drops records
// unless configured (Config.DropsInterval, --drops-interval).
const DefaultDropsInterval = 10 * time.Second

// dropsPoll is how often the counters are read while a report may be
// made: a loss after a quiet spell is reported within it, and the
// kernel's counters (a per-CPU array of reasons × kinds, one lookup per
// entry) are read by the pipeline goroutine at most once a second.
const dropsPoll = time.Second

// lossKey names one loss counter: where, why, and of what kind or for
// which output.
type lossKey struct {
	stage, reason string
	kind          event.Kind
	output        string
}

// lossReading is one reading of every loss counter; each only grows.
type lossReading map[lossKey]uint64

// dropsReporter turns readings of the loss counters into drops records:
// at most one per interval, only when a counter grew, each covering the
// time since the previous one, so that the records of a run add up to
// the counters' totals. Owned by the pipeline goroutine.
type dropsReporter struct {
	// interval is the shortest time between two reports; record says
	// whether they become drops records or only log warnings.
	interval time.Duration
	record   bool
	node     string

	base     lossReading // at the last report
	since    time.Time   // the last report's time, or the start
	reported bool        // a report was made: interval applies
	nextPoll time.Time
}

// newDropsReporter reports from start; interval 0 means the default, a
// negative one reports in the log only, at the default interval.
func newDropsReporter(node string, interval time.Duration, start time.Time) *dropsReporter {
	r := &dropsReporter{interval: interval, record: interval >= 0, node: node, since: start.UTC(), base: lossReading{}}
	if interval <= 0 {
		r.interval = DefaultDropsInterval
	}
	return r
}

// due says whether the counters should be read at now: once per poll,
// and only when the last report is an interval old.
func (r *dropsReporter) due(now time.Time) bool {
	if now.Before(r.nextPoll) {
		return false
	}
	return !r.reported || !now.Before(r.since.Add(r.interval))
}

// report compares reading with the one of the last report and returns
// the record of what grew, or nil when nothing did.
func (r *dropsReporter) report(now time.Time, reading lossReading) *event.Drops {
	now = now.UTC() // as every time in the schema
	r.nextPoll = now.Add(dropsPoll)
	d := &event.Drops{Time: now, Kind: event.KindDrops, Node: r.node, Since: r.since, Until: now}
	for k, n := range reading {
		if was := r.base[k]; n > was {
			d.Counts = append(d.Counts, event.DropCount{Stage: k.stage, Reason: k.reason, Kind: k.kind, Output: k.output, Count: n - was})
			d.Total += n - was
		}
	}
	if d.Total == 0 {
		return nil
	}
	slices.SortFunc(d.Counts, func(a, b event.DropCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Stage, b.Stage), cmp.Compare(a.Reason, b.Reason),
			cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Output, b.Output))
	})
	r.base, r.since, r.reported = reading, now, true
	return d
}

// routeStats is a sink that reports its outputs (the fan-out).
type routeStats interface{ Stats() []output.RouteStats }

// readLosses reads every loss counter the agent knows of: the kernel's
// (by reason and kind), records that did not decode, writes the sink
// refused, the outputs' queue and sink drops, the live streams' drops,
// the container hold's forced releases and the intel hash queue's drops.
func (a *Agent) readLosses() lossReading {
	m := lossReading{}
	add := func(stage, reason string, kind event.Kind, out string, n uint64) {
		if n > 0 {
			m[lossKey{stage, reason, kind, out}] += n
		}
	}
	if a.ring != nil {
		if losses, err := a.ring.Losses(); err == nil {
			for _, l := range losses {
				add(event.DropStageKernel, string(l.Reason), l.Kind, "", l.Count)
			}
		} else {
			a.log.Warn("read drop counters", "err", err)
		}
	}
	add(event.DropStagePipeline, event.DropMalformed, "", "", a.counts.malformedN.Load())
	add(event.DropStagePipeline, event.DropSinkRefused, "", "", a.counts.sinkErrN.Load())
	if h := a.hold; h != nil {
		add(event.DropStagePipeline, event.DropHoldTimeout, "", "", h.stats.gaveUp.Load())
		add(event.DropStagePipeline, event.DropHoldFull, "", "", h.stats.overflow.Load())
	}
	if in := a.intel; in != nil {
		add(event.DropStagePipeline, event.DropIntelHashDropped, "", "", in.hashes.dropped.Load())
	}
	if rs, ok := a.cfg.Sink.(routeStats); ok {
		for _, s := range rs.Stats() {
			add(event.DropStageOutput, event.DropQueueFull, "", s.Name, s.QueueDropped)
			add(event.DropStageOutput, event.DropSinkDropped, "", s.Name, s.SinkDropped)
		}
	}
	if sv := a.cfg.Serve; sv != nil && sv.Outputs != nil && sv.Outputs.Hub != nil {
		add(event.DropStageOutput, event.DropStreamDropped, "", "api", sv.Outputs.Hub.StreamStats().Dropped)
	}
	return m
}

// reportDrops writes a drops record to every output and a warning to the
// log when something was lost since the last report and an interval has
// passed (or, final, when the agent stops: the last losses are reported
// whatever the interval). Called by the pipeline goroutine (idle, every
// 1024 events, and once at the end of Run).
func (a *Agent) reportDrops(now time.Time, final bool) {
	r := a.drops
	if r == nil || !final && !r.due(now) {
		return
	}
	d := r.report(now, a.readLosses())
	if d == nil {
		return
	}
	a.log.Warn("events lost", "total", d.Total, "since", d.Since.Format(time.RFC3339Nano),
		"counts", output.DropsSummary(d))
	if !r.record {
		return
	}
	if err := a.cfg.Sink.WriteDrops(d); err != nil {
		a.counts.sinkError(a.log, err)
	}
}
