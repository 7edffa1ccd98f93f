package agent

import (
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/metrics"
)

// holder keeps back the events of containers whose metadata a source
// (the runtime, Kubernetes) is still looking up, so that a new pod's first
// exec carries its names instead of going out without them. Bounded in
// time (maxAge from a container's first held event) and in memory (max
// events in all); what it gives up on goes out as it is, counted.
//
// A container is told by its first exec (the only record that carries a
// cgroup path); the processes it holds are then told by pid: forks of a
// held pid are held, and so are every later record of a held pid, so that
// a process's records keep their order. Records of other processes pass.
// Owned by the pipeline goroutine; its counters are atomic for readers.
type holder struct {
	resolver *container.Resolver
	maxAge   time.Duration
	max      int

	queues []*heldQueue // in the order their first event came
	byRef  map[*event.ContainerRef]*heldQueue
	pids   map[uint32]*heldQueue // processes whose records are held
	total  int                   // events held in all queues

	stats holdCounters
}

type heldQueue struct {
	ref    *event.ContainerRef
	since  time.Time // when its first event was held
	events []*event.Event
	pids   []uint32
}

// holdCounters say what the holder did, for metrics and status.
type holdCounters struct {
	held     atomic.Uint64 // events held
	settled  atomic.Uint64 // containers released because the source settled them
	gaveUp   atomic.Uint64 // containers released unnamed at maxAge
	overflow atomic.Uint64 // containers released early: the holder was full
	pending  atomic.Int64  // events held now
}

// Defaults: a CRI lookup answers in milliseconds, the API server's pod
// watch within a second of the pod's scheduling; a container still
// unnamed after two seconds is not waited for any longer.
const (
	defaultHoldAge    = 2 * time.Second
	defaultHoldEvents = 8192
)

func newHolder(r *container.Resolver) *holder {
	return &holder{resolver: r, maxAge: defaultHoldAge, max: defaultHoldEvents,
		byRef: make(map[*event.ContainerRef]*heldQueue), pids: make(map[uint32]*heldQueue)}
}

// intercept holds ev when it belongs to a container being looked up, and
// reports whether it did; release hands held events back through pass.
// Ages are taken from the local monotonic clock, never from event times,
// so a stepped wall clock neither keeps nor drops a hold early.
func (h *holder) intercept(ev *event.Event, pass func(*event.Event)) bool {
	p := ev.Process
	if p == nil {
		return false
	}
	q := h.pids[p.PID]
	if q == nil && ev.Kind == event.KindProcessFork {
		q = h.pids[p.PPID]
	}
	if q == nil && ev.Kind == event.KindProcessExec && ev.Enforcement == nil {
		ref := h.resolver.Bind(p.Cgroup.Path)
		if !ref.Pending() {
			return false
		}
		if q = h.byRef[ref]; q == nil {
			q = &heldQueue{ref: ref, since: time.Now()}
			h.byRef[ref] = q
			h.queues = append(h.queues, q)
		}
	}
	if q == nil {
		return false
	}
	if _, ok := h.pids[p.PID]; !ok {
		h.pids[p.PID] = q
		q.pids = append(q.pids, p.PID)
	}
	q.events = append(q.events, ev)
	h.total++
	h.stats.held.Add(1)
	h.stats.pending.Store(int64(h.total))
	if h.total > h.max {
		h.stats.overflow.Add(1)
		h.releaseAt(0, pass)
	}
	return true
}

// release hands back the events of every container the source settled
// and of every container held for maxAge, in the order they were held.
func (h *holder) release(now time.Time, pass func(*event.Event)) {
	for i := 0; i < len(h.queues); {
		q := h.queues[i]
		switch {
		case !q.ref.Pending():
			h.stats.settled.Add(1)
		case now.Sub(q.since) >= h.maxAge:
			h.stats.gaveUp.Add(1)
		default:
			i++
			continue
		}
		h.releaseAt(i, pass)
	}
}

// releaseAll hands back everything held, at shutdown.
func (h *holder) releaseAll(pass func(*event.Event)) {
	for len(h.queues) > 0 {
		h.releaseAt(0, pass)
	}
}

func (h *holder) releaseAt(i int, pass func(*event.Event)) {
	q := h.queues[i]
	h.queues = append(h.queues[:i], h.queues[i+1:]...)
	delete(h.byRef, q.ref)
	for _, pid := range q.pids {
		if h.pids[pid] == q {
			delete(h.pids, pid)
		}
	}
	h.total -= len(q.events)
	h.stats.pending.Store(int64(h.total))
	for _, ev := range q.events {
		pass(ev)
	}
}

// holding reports whether anything is held: the pipeline then checks for
// releases on its idle timer as well as between records.
func (h *holder) holding() bool { return len(h.queues) > 0 }

// holdFor starts holding the events of containers r's metadata source is
// looking up.
func (a *Agent) holdFor(r *container.Resolver) {
	a.hold = newHolder(r)
	if a.cfg.ContainerHold > 0 {
		a.hold.maxAge = a.cfg.ContainerHold
	}
}

// containerStats reads the container cache's and the hold's counters;
// safe from any goroutine.
func (a *Agent) containerStats() metrics.Containers {
	var c metrics.Containers
	if a.containers != nil {
		st := a.containers.Stats()
		c.Entries, c.Evictions = st.Entries, st.Evictions
	}
	if h := a.hold; h != nil {
		c.Held, c.HeldNow = h.stats.held.Load(), int(h.stats.pending.Load())
		c.Releases = map[string]uint64{"settled": h.stats.settled.Load(),
			"gave_up": h.stats.gaveUp.Load(), "overflow": h.stats.overflow.Load()}
	}
	return c
}
