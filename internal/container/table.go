package container

import (
	"sync"
	"sync/atomic"

	"github.com/vigil-sec/vigil/internal/event"
)

// Table holds what is known of each container the agent has met, one
// shared event.ContainerRef per container id. The pipeline binds processes
// to these references at exec; metadata sources (the runtime, Kubernetes)
// update them later, from their own goroutines, and every process in the
// container shows the new value from its next event on.
//
// Keyed by container id rather than by cgroup: the id is what runtimes and
// Kubernetes name containers by, and on a cgroup v1 host the v2 cgroup id
// of every process is the same.
//
// The pipeline's reads are lock-free (sync.Map, atomics). Writers (a new
// container, an update, an eviction) take mu, which the pipeline takes only
// when it meets a container for the first time.
type Table struct {
	slots sync.Map // container id → *slot

	mu   sync.Mutex // serialises writers
	ring []*slot    // every stored slot, for the eviction clock; under mu
	hand int        // the clock's hand; under mu

	evictions atomic.Uint64

	source Source // nil: no metadata source; set before the pipeline runs
}

// Source is a metadata source (the container runtime, Kubernetes) that the
// table asks about each container the pipeline meets for the first time.
type Source interface {
	// Fill completes c, a copy of what the cgroup path gave, from what the
	// source already holds in memory (a pod known from the API server),
	// and reports whether c is now complete. It runs under the table's
	// lock on the event path: it must not block or do I/O.
	Fill(id Identity, c *event.Container) (complete bool)
	// Request asks the source to look up a container Fill could not
	// complete. It must not block: the source queues the request (bounded,
	// counting what it refuses) and later calls Update with what it
	// learnt, then Settle, whether it learnt anything or gave up.
	Request(id Identity)
}

// SetSource makes src the table's metadata source. Call it before the
// pipeline binds any process.
func (t *Table) SetSource(src Source) { t.source = src }

type slot struct {
	id  string
	ref *event.ContainerRef
	// used is set when a process is bound to the slot and cleared by the
	// eviction clock as it passes: a slot is evicted only if no process
	// was bound to it during a whole turn of the clock.
	used atomic.Bool
	// evicted is set when the table dropped the slot: a resolver that
	// cached it must look the container up again.
	evicted atomic.Bool
}

// DefaultTableSize is far more containers than a node runs at once.
const DefaultTableSize = 4096

// NewTable makes a table of at most max containers.
func NewTable(max int) *Table {
	if max <= 0 {
		max = DefaultTableSize
	}
	return &Table{ring: make([]*slot, 0, max)}
}

// bind returns the slot of the container a cgroup path named, creating it
// when the container is new. The path's facts fill what the slot lacks
// (a slot an Update made before the container's first exec).
func (t *Table) bind(id Identity) *slot {
	if v, ok := t.slots.Load(id.ID); ok {
		s := v.(*slot)
		if !s.used.Load() { // spare the cache line when already set
			s.used.Store(true)
		}
		if lacks(s.ref.Load(), id) {
			t.mu.Lock()
			t.fillLocked(s, id)
			t.mu.Unlock()
		}
		return s
	}
	t.mu.Lock()
	s, fresh := t.slotLocked(id.ID), false
	if s.ref.Load().Runtime == "" { // never bound before (maybe updated)
		fresh = true
	}
	t.fillLocked(s, id)
	if fresh && t.source != nil {
		next := *s.ref.Load()
		complete := t.source.Fill(id, &next)
		next.ID = id.ID
		s.ref.Store(&next)
		if !complete {
			s.ref.SetPending(true)
		}
		t.mu.Unlock()
		if !complete {
			t.source.Request(id)
		}
		return s
	}
	t.mu.Unlock()
	return s
}

// lacks reports whether c misses a fact the path gives.
func lacks(c *event.Container, id Identity) bool {
	return c.Runtime == "" || id.PodUID != "" && c.Pod == nil
}

func (t *Table) fillLocked(s *slot, id Identity) {
	cur := s.ref.Load()
	if !lacks(cur, id) {
		return
	}
	next := *cur
	if next.Runtime == "" {
		next.Runtime = id.Runtime
	}
	if id.PodUID != "" && next.Pod == nil {
		next.Pod = &event.Pod{UID: id.PodUID}
	}
	s.ref.Store(&next)
}

// slotLocked returns the slot of container id, making room for it (and
// counting the eviction) when the table is full.
func (t *Table) slotLocked(id string) *slot {
	if v, ok := t.slots.Load(id); ok {
		return v.(*slot)
	}
	// unmarked: a new slot goes just behind the hand, which gives it a
	// whole turn of the clock before it can be evicted
	s := &slot{id: id, ref: event.NewContainerRef(&event.Container{ID: id})}
	if len(t.ring) < cap(t.ring) {
		t.ring = append(t.ring, s)
	} else {
		// the clock: pass over slots bound since the hand last came by,
		// clearing their mark; take the first unmarked one. Ends within
		// one turn, since the turn clears every mark.
		for t.ring[t.hand].used.Swap(false) {
			t.hand = (t.hand + 1) % len(t.ring)
		}
		old := t.ring[t.hand]
		old.evicted.Store(true)
		t.slots.Delete(old.id)
		t.evictions.Add(1)
		t.ring[t.hand] = s
		t.hand = (t.hand + 1) % len(t.ring)
	}
	t.slots.Store(id, s)
	return s
}

// Update changes what is known of container id: edit gets a copy of the
// current value to change, and the result is published to the processes
// in the container, which carry it from their next event on. edit must
// replace, never modify, what the value points to (its Pod). A container
// not met yet gets a slot, so that metadata arriving before its first
// exec is not lost. Safe for concurrent use; edit runs under the table's
// lock and must not block.
func (t *Table) Update(id string, edit func(c *event.Container)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.slotLocked(id)
	next := *s.ref.Load()
	edit(&next)
	next.ID = id // the key is not edit's to change
	s.ref.Store(&next)
}

// Settle says that the metadata source is done with container id, having
// learnt what it could: events of the container need not wait any longer.
// Safe for concurrent use.
func (t *Table) Settle(id string) {
	if v, ok := t.slots.Load(id); ok {
		v.(*slot).ref.SetPending(false)
	}
}

// Lookup returns the current value for container id, or nil. Safe for
// concurrent use.
func (t *Table) Lookup(id string) *event.Container {
	if v, ok := t.slots.Load(id); ok {
		return v.(*slot).ref.Load()
	}
	return nil
}

// TableStats are the table's size and turnover.
type TableStats struct {
	Entries   int    `json:"entries"`
	Max       int    `json:"max"`
	Evictions uint64 `json:"evictions"` // containers forgotten because the table was full
}

// Stats reports the table's size and turnover. Safe for concurrent use.
func (t *Table) Stats() TableStats {
	t.mu.Lock()
	n, max := len(t.ring), cap(t.ring)
	t.mu.Unlock()
	return TableStats{Entries: n, Max: max, Evictions: t.evictions.Load()}
}
