package api

import (
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/metrics"
)

// SubscriberBuffer is how many lines wait for one slow stream reader
// before its lines are dropped (and counted).
const SubscriberBuffer = 4096

// Hub is the output behind the live streams: an output.Sink in the
// fan-out that encodes each event once and offers the line to every
// subscriber whose filter takes it, never waiting for one.
type Hub struct {
	mu      sync.RWMutex
	subs    map[*subscriber]struct{}
	count   atomic.Int32
	dropped atomic.Uint64
	closed  bool
}

type subscriber struct {
	filter  StreamFilter
	lines   chan []byte
	dropped atomic.Uint64
}

// NewHub makes a hub with no subscribers.
func NewHub() *Hub { return &Hub{subs: make(map[*subscriber]struct{})} }

func (h *Hub) subscribe(f StreamFilter) *subscriber {
	s := &subscriber{filter: f, lines: make(chan []byte, SubscriberBuffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.lines)
		return s
	}
	h.subs[s] = struct{}{}
	h.count.Add(1)
	return s
}

func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		h.count.Add(-1)
	}
}

// Listening tells the fan-out whether anyone reads: nothing is queued for
// the hub while nobody does.
func (h *Hub) Listening() bool { return h.count.Load() > 0 }

// Write offers ev to the subscribers that want it.
func (h *Hub) Write(ev *event.Event) error {
	return h.offer(ev, func(f *StreamFilter) bool { return f.Event(ev) })
}

// WriteAlert offers al to the subscribers that want it.
func (h *Hub) WriteAlert(al *event.Alert) error {
	return h.offer(al, func(f *StreamFilter) bool { return f.Alert(al) })
}

// WriteDrops offers d to every subscriber, whatever its filter: a reader
// of the stream should know what the agent lost.
func (h *Hub) WriteDrops(d *event.Drops) error {
	return h.offer(d, func(*StreamFilter) bool { return true })
}

func (h *Hub) offer(v any, wants func(*StreamFilter) bool) error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var line []byte
	for s := range h.subs {
		if !wants(&s.filter) {
			continue
		}
		if line == nil {
			var err error
			if line, err = json.Marshal(v); err != nil {
				return err
			}
			line = append(line, '\n')
		}
		select {
		case s.lines <- line:
		default:
			s.dropped.Add(1)
			h.dropped.Add(1)
		}
	}
	return nil
}

// Flush does nothing: stream handlers write as lines arrive.
func (h *Hub) Flush() error { return nil }

// Close ends every stream.
func (h *Hub) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	for s := range h.subs {
		close(s.lines)
		delete(h.subs, s)
	}
	h.count.Store(0)
	return nil
}

// StreamStats reports the subscribers and what they dropped.
func (h *Hub) StreamStats() metrics.StreamStats {
	return metrics.StreamStats{Subscribers: int(h.count.Load()), Dropped: h.dropped.Load()}
}
