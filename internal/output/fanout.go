package output

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// DefaultQueue is how many items wait for one output unless configured.
const DefaultQueue = 8192

// Route is one output behind a Fanout.
type Route struct {
	// Name identifies the output in metrics and status; unique.
	Name string
	// Type is the kind of sink: stdout, file, syslog, webhook, api.
	Type   string
	Sink   Sink
	Filter Filter
	// Queue bounds what waits for this output; 0 means DefaultQueue.
	Queue int
}

// FanoutOptions tune a Fanout.
type FanoutOptions struct {
	// DrainTimeout bounds Close: how long the outputs get to write what
	// is queued before retrying sinks are interrupted. 0 means 10s.
	DrainTimeout time.Duration
	// FlushInterval is the longest a sink keeps output buffered while its
	// queue never empties. 0 means 1s.
	FlushInterval time.Duration
	// MaxBatchDelay is the longest events wait in a partial batch on the
	// pipeline's side while the pipeline never idles (an output whose
	// filter rarely matches, under sustained load). 0 means 250ms.
	MaxBatchDelay time.Duration
	// AlertLabels says which of a pod's names the alert counts keep
	// apart (metrics' --metrics-k8s-labels); none by default.
	AlertLabels PodLabels
	Log         *slog.Logger
}

// Interrupter is a sink whose writes may wait (retries with backoff).
// Interrupt, called from another goroutine, makes it give up waiting:
// what it still holds is dropped and counted.
type Interrupter interface{ Interrupt() }

// Listener is a sink that may have nobody to write to, like a stream with
// no subscribers; the fan-out queues nothing for it then.
type Listener interface{ Listening() bool }

// Fanout is the Sink the pipeline writes to. It gives each output its own
// bounded queue and goroutine, so that a slow or failing output drops (and
// counts) what it cannot take instead of slowing the pipeline down. Write
// and WriteAlert never block. Events reach an output in batches, handed
// over when a batch is full, at Flush, or at the latest MaxBatchDelay after
// the last hand-over; alerts are handed over at once. Write, WriteAlert and
// Flush are for one goroutine (the pipeline's); Stats and Alerts may be
// called from any.
type Fanout struct {
	routes []*route
	opts   FanoutOptions
	alerts alertCounts
	once   sync.Once
	// tick is advanced every MaxBatchDelay by a goroutine of its own; the
	// pipeline hands partial batches over when it sees it move. That is
	// one load of a word per Write: no clock read, no lock, no timer on
	// the pipeline's side.
	tick     atomic.Uint32
	seenTick uint32 // the pipeline's
	stopTick chan struct{}
	tickDone chan struct{}
}

// NewFanout starts one goroutine per route. Names must be unique.
func NewFanout(routes []Route, opts FanoutOptions) (*Fanout, error) {
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 10 * time.Second
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.MaxBatchDelay <= 0 {
		opts.MaxBatchDelay = 250 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	f := &Fanout{opts: opts, stopTick: make(chan struct{}), tickDone: make(chan struct{})}
	f.alerts.labels = opts.AlertLabels
	seen := make(map[string]bool)
	for _, rt := range routes {
		if rt.Name == "" || seen[rt.Name] {
			return nil, fmt.Errorf("output name %q: empty or used twice", rt.Name)
		}
		seen[rt.Name] = true
		if rt.Sink == nil {
			return nil, fmt.Errorf("output %s: no sink", rt.Name)
		}
		if rt.Queue <= 0 {
			rt.Queue = DefaultQueue
		}
		f.routes = append(f.routes, newRoute(rt, opts.Log))
	}
	for _, r := range f.routes {
		go r.run(opts.FlushInterval)
	}
	go f.ticker()
	return f, nil
}

func (f *Fanout) ticker() {
	defer close(f.tickDone)
	t := time.NewTicker(f.opts.MaxBatchDelay)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f.tick.Add(1)
		case <-f.stopTick:
			return
		}
	}
}

// handoffLate hands every partial batch over once a tick has passed since
// the last time: under sustained load the pipeline never idles, and an
// output whose filter rarely matches would otherwise hold its few events
// until it did.
func (f *Fanout) handoffLate() {
	if t := f.tick.Load(); t != f.seenTick {
		f.seenTick = t
		for _, r := range f.routes {
			r.handoff()
		}
	}
}

// Write queues ev for every output whose filter takes it.
func (f *Fanout) Write(ev *event.Event) error {
	f.handoffLate()
	for _, r := range f.routes {
		if r.Filter.Event(ev) && r.listening() {
			r.offer(item{ev: ev}, false)
		}
	}
	return nil
}

// WriteAlert counts al and queues it for every output whose filter takes it.
func (f *Fanout) WriteAlert(al *event.Alert) error {
	f.handoffLate()
	f.alerts.add(al)
	for _, r := range f.routes {
		if r.Filter.Alert(al) && r.listening() {
			r.offer(item{al: al}, true)
		}
	}
	return nil
}

// WriteDrops queues d for every output, whatever its filter: a gap in
// what an output received concerns whoever reads it, even when the losses
// were of kinds it does not take. It is handed over at once, like an
// alert; a full queue drops it, counted like any other item.
func (f *Fanout) WriteDrops(d *event.Drops) error {
	f.handoffLate()
	for _, r := range f.routes {
		if r.listening() {
			r.offer(item{dr: d}, true)
		}
	}
	return nil
}

// Flush hands the events collected for each output over to it; the
// pipeline calls it when idle. Each output flushes its sink whenever its
// queue runs empty.
func (f *Fanout) Flush() error {
	for _, r := range f.routes {
		r.handoff()
	}
	return nil
}

// Close hands over what is pending, lets every output write what is
// queued, then closes the sinks. Outputs still busy after the drain
// timeout are interrupted; what they hold is dropped and counted. Call it
// after the last Write.
func (f *Fanout) Close() error {
	f.once.Do(func() {
		close(f.stopTick)
		<-f.tickDone
		for _, r := range f.routes {
			r.handoff()
			close(r.stop)
		}
	})
	deadline := time.NewTimer(f.opts.DrainTimeout)
	defer deadline.Stop()
	var errs []error
	for _, r := range f.routes {
		select {
		case <-r.done:
		case <-deadline.C:
			deadline.Reset(0) // the others get no more time either
			if i, ok := r.Sink.(Interrupter); ok {
				i.Interrupt()
			}
			select {
			case <-r.done:
			case <-time.After(2 * time.Second):
				errs = append(errs, fmt.Errorf("output %s: still writing after %s, abandoned", r.Name, f.opts.DrainTimeout))
				continue
			}
		}
		if r.closeErr != nil {
			errs = append(errs, fmt.Errorf("close output %s: %w", r.Name, r.closeErr))
		}
	}
	return errors.Join(errs...)
}

// Stats reports every output's queue, counters and health.
func (f *Fanout) Stats() []RouteStats {
	out := make([]RouteStats, len(f.routes))
	for i, r := range f.routes {
		out[i] = r.stats()
	}
	return out
}

// Alerts reports how many alerts passed, by rule, severity and action.
func (f *Fanout) Alerts() []AlertCount { return f.alerts.snapshot() }

// Reopener is a sink that can open its file again (file outputs, after
// logrotate moved the file).
type Reopener interface {
	Reopen() error
}

// Reopen reopens every output whose sink is a Reopener, from any
// goroutine (the sinks lock for it), and says which it reopened.
func (f *Fanout) Reopen() (names []string, err error) {
	var errs []error
	for _, r := range f.routes {
		if ro, ok := r.Sink.(Reopener); ok {
			if e := ro.Reopen(); e != nil {
				errs = append(errs, fmt.Errorf("output %s: %w", r.Name, e))
				continue
			}
			names = append(names, r.Name)
		}
	}
	return names, errors.Join(errs...)
}
