package output

import (
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// Report is what a sink that retries or drops on its own says about
// itself; the fan-out merges it into the output's RouteStats.
type Report struct {
	// Delivered counts items the far end acknowledged.
	Delivered uint64
	// Dropped counts items the sink gave up on: rejected by the far end,
	// out of retries, or interrupted at shutdown.
	Dropped uint64
	// Retries counts attempts that failed and were retried.
	Retries       uint64
	LastError     string
	LastErrorTime time.Time
	LastSuccess   time.Time
}

// Reporter is implemented by sinks that keep their own Report. Report is
// called from other goroutines.
type Reporter interface{ Report() Report }

// RouteStats is one output's state.
type RouteStats struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	QueueDepth    int    `json:"queue_depth"`
	QueueCapacity int    `json:"queue_capacity"`
	// Written counts items the sink took.
	Written uint64 `json:"written"`
	// Delivered counts items the far end acknowledged, for sinks that
	// know (webhook); otherwise what was written.
	Delivered uint64 `json:"delivered"`
	// QueueDropped counts items dropped because the queue was full.
	QueueDropped uint64 `json:"queue_dropped"`
	// SinkDropped counts items the sink lost: a write that failed,
	// buffered lines a failed write took with it, or what a retrying sink
	// gave up on.
	SinkDropped uint64 `json:"sink_dropped"`
	// Errors counts failed writes and flushes, and failures a sink
	// recovered from (a rotation that failed). What a failed flush lost is
	// in SinkDropped when the sink said (file, stdout).
	Errors        uint64    `json:"errors"`
	Retries       uint64    `json:"retries"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
	LastSuccess   time.Time `json:"last_success,omitzero"`
	// Healthy is false while the last attempt to write failed.
	Healthy bool `json:"healthy"`
}

type item struct {
	ev *event.Event
	al *event.Alert
	dr *event.Drops
}

// handoffBatch is how many events the pipeline collects for one output
// before handing them over: one channel operation (and at most one
// wake-up of the output's goroutine) per batch instead of per event.
const handoffBatch = 128

type route struct {
	Route
	log      *slog.Logger
	q        chan []item
	free     chan []item // emptied batches, back to the pipeline
	stop     chan struct{}
	done     chan struct{}
	closeErr error
	// pending is the batch being filled; only the pipeline goroutine
	// touches it.
	pending []item
	batch   int
	// listener is the sink as a Listener, nil if it is not one
	listener Listener
	queued   atomic.Int64 // items in q

	written atomic.Uint64
	dropped atomic.Uint64
	lost    atomic.Uint64 // items whose write failed, for sinks that do not report
	// lostTaken counts items the sink took, then lost (buffered lines a
	// failed write took with it), as its *RecoveredError said
	lostTaken atomic.Uint64
	errors    atomic.Uint64
	lastOK    atomic.Int64 // unix nanoseconds
	// failed says a write failed since the last flush, so that the flush
	// does not count as a success. Only the output's goroutine touches it.
	failed    bool
	mu        sync.Mutex // guards lastErr*
	lastErr   string
	lastErrAt time.Time
}

func newRoute(rt Route, log *slog.Logger) *route {
	batch := min(handoffBatch, rt.Queue)
	listener, _ := rt.Sink.(Listener)
	return &route{
		listener: listener,
		Route:    rt,
		log:      log.With("output", rt.Name),
		q:        make(chan []item, rt.Queue),
		free:     make(chan []item, 4),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		batch:    batch,
		pending:  make([]item, 0, batch),
	}
}

func (r *route) listening() bool {
	return r.listener == nil || r.listener.Listening()
}

// offer adds it to the pending batch, and hands the batch over when it is
// full or when now is set (alerts do not wait). It never blocks.
func (r *route) offer(it item, now bool) {
	r.pending = append(r.pending, it)
	if now || len(r.pending) >= r.batch {
		r.handoff()
	}
}

// handoff queues the pending batch, or drops it (counted) when the queue
// has no room for it.
func (r *route) handoff() {
	n := int64(len(r.pending))
	if n == 0 {
		return
	}
	if r.queued.Add(n) <= int64(r.Queue) {
		select {
		case r.q <- r.pending:
			select {
			case r.pending = <-r.free:
			default:
				r.pending = make([]item, 0, r.batch)
			}
			return
		default:
		}
	}
	r.queued.Add(-n)
	clear(r.pending)
	r.pending = r.pending[:0]
	if d := r.dropped.Add(uint64(n)); d == uint64(n) || bits.Len64(d) != bits.Len64(d-uint64(n)) {
		r.log.Warn("output queue full, dropping", "dropped", d, "queue", r.Queue)
	}
}

// run writes queued items until stop, then drains the queue, flushes and
// closes the sink. Sinks are flushed whenever the queue runs empty, so
// that batches grow with the load and nothing lingers when it is quiet.
func (r *route) run(flushEvery time.Duration) {
	defer close(r.done)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	dirty := false
	for {
		select {
		case b := <-r.q:
			r.writeBatch(b)
			dirty = true
			if len(r.q) == 0 {
				r.flush()
				dirty = false
			}
		case <-tick.C:
			if dirty {
				r.flush()
				dirty = false
			}
		case <-r.stop:
			r.drain()
			r.flush()
			r.closeErr = r.Sink.Close()
			return
		}
	}
}

// drain writes what is queued, without waiting for more.
func (r *route) drain() {
	for {
		select {
		case b := <-r.q:
			r.writeBatch(b)
		default:
			return
		}
	}
}

func (r *route) writeBatch(b []item) {
	r.queued.Add(-int64(len(b)))
	for _, it := range b {
		r.write(it)
	}
	clear(b)
	select {
	case r.free <- b[:0]:
	default:
	}
}

func (r *route) write(it item) {
	var err error
	switch {
	case it.al != nil:
		err = r.Sink.WriteAlert(it.al)
	case it.dr != nil:
		err = r.Sink.WriteDrops(it.dr)
	default:
		err = r.Sink.Write(it.ev)
	}
	if err == nil {
		r.written.Add(1)
		return
	}
	var rec *RecoveredError
	if errors.As(err, &rec) {
		r.lostTaken.Add(uint64(rec.Lost))
	}
	if _, taken := err.(*RecoveredError); taken {
		r.written.Add(1)
	} else if _, reports := r.Sink.(Reporter); !reports {
		r.lost.Add(1) // a Reporter counts its own
	}
	r.fail(err)
}

func (r *route) flush() {
	err := r.Sink.Flush()
	if err != nil {
		var rec *RecoveredError
		if errors.As(err, &rec) {
			r.lostTaken.Add(uint64(rec.Lost))
		}
		r.fail(err)
	} else if !r.failed {
		r.lastOK.Store(time.Now().UnixNano())
	}
	r.failed = false
}

func (r *route) fail(err error) {
	r.failed = true
	n := r.errors.Add(1)
	r.mu.Lock()
	r.lastErr, r.lastErrAt = err.Error(), time.Now()
	r.mu.Unlock()
	if n <= 10 || n&(n-1) == 0 {
		r.log.Error("write output", "err", err, "errors", n)
	}
}

func (r *route) stats() RouteStats {
	s := RouteStats{
		Name:          r.Name,
		Type:          r.Type,
		QueueDepth:    int(max(r.queued.Load(), 0)),
		QueueCapacity: r.Queue,
		Written:       r.written.Load(),
		QueueDropped:  r.dropped.Load(),
		Errors:        r.errors.Load(),
	}
	lostTaken := r.lostTaken.Load()
	s.SinkDropped = r.lost.Load() + lostTaken
	s.Delivered = s.Written - min(lostTaken, s.Written)
	if ns := r.lastOK.Load(); ns != 0 {
		s.LastSuccess = time.Unix(0, ns)
	}
	r.mu.Lock()
	s.LastError, s.LastErrorTime = r.lastErr, r.lastErrAt
	r.mu.Unlock()
	if rep, ok := r.Sink.(Reporter); ok {
		own := rep.Report()
		s.Delivered, s.Retries = own.Delivered, own.Retries
		s.SinkDropped += own.Dropped
		if own.LastErrorTime.After(s.LastErrorTime) {
			s.LastError, s.LastErrorTime = own.LastError, own.LastErrorTime
		}
		// a flush that returned may still have delivered nothing
		s.LastSuccess = own.LastSuccess
	}
	s.Healthy = s.LastErrorTime.IsZero() || s.LastSuccess.After(s.LastErrorTime)
	return s
}

// Summary is one line about every output, for the agent's exit report:
//
//	outputs: archive wrote 2665, dropped 19456 (queue full); siem delivered 14
func Summary(stats []RouteStats) string {
	var b strings.Builder
	b.WriteString("outputs:")
	for i, s := range stats {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %s ", s.Name)
		if s.Delivered != s.Written {
			fmt.Fprintf(&b, "delivered %d of %d", s.Delivered, s.Written)
		} else {
			fmt.Fprintf(&b, "wrote %d", s.Written)
		}
		if s.QueueDropped > 0 {
			fmt.Fprintf(&b, ", dropped %d (queue full)", s.QueueDropped)
		}
		if s.SinkDropped > 0 {
			fmt.Fprintf(&b, ", dropped %d (given up)", s.SinkDropped)
		}
		if s.Errors > 0 {
			fmt.Fprintf(&b, ", %d errors (last: %s)", s.Errors, s.LastError)
		}
	}
	return b.String()
}
