package rule

import (
	"container/list"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// Throttle bounds the alerts of one rule for one source: a token bucket
// per (rule, container) for containerised processes and per (rule,
// parent process) on the host, so that a loop spawning offenders shares
// one bucket. Time is the events' time, so replays throttle exactly as
// the live agent did.
type Throttle struct {
	// Disabled lets every alert through.
	Disabled bool
	// Burst alerts pass at once; then one more per Refill.
	Burst  int
	Refill time.Duration
	// MaxKeys bounds the buckets kept; the least recently used is
	// dropped first, after reporting what it held back.
	MaxKeys int
}

// DefaultThrottle lets 10 alerts through at once, then one every 10 s,
// per rule and source.
func DefaultThrottle() Throttle {
	return Throttle{Burst: 10, Refill: 10 * time.Second, MaxKeys: 16384}
}

type throttleKey struct {
	check int32
	scope string
}

type bucket struct {
	key        throttleKey
	tokens     float64
	last       time.Time
	suppressed uint64
	// held is the latest alert held back; it is written with the count
	// when the bucket refills, so no suppressed match goes unreported.
	held    *event.Alert
	lru     *list.Element
	pending bool
}

type throttle struct {
	cfg     Throttle
	buckets map[throttleKey]*bucket
	lru     *list.List // front: most recently used
	// pending buckets hold an alert back, in the order they started to.
	pending []*bucket
	nextDue time.Time
	evicted uint64
}

func newThrottle(cfg Throttle) *throttle {
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultThrottle().Burst
	}
	if cfg.Refill <= 0 {
		cfg.Refill = DefaultThrottle().Refill
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultThrottle().MaxKeys
	}
	return &throttle{cfg: cfg, buckets: map[throttleKey]*bucket{}, lru: list.New()}
}

// scopeOf is the source an alert is throttled by.
func scopeOf(ev *event.Event) string {
	p := ev.Process
	if p == nil {
		return ""
	}
	if c := p.Container; c != nil && c.ID != "" && c.ID != event.HostContainerID {
		return "c:" + c.ID
	}
	if p.ParentExecID != "" {
		return "p:" + p.ParentExecID
	}
	return "e:" + p.ExecID
}

// admit lets al through or holds it back; it returns out with what to
// write.
func (t *throttle) admit(check int32, al *event.Alert, out []*event.Alert) []*event.Alert {
	if t.cfg.Disabled {
		return append(out, al)
	}
	k := throttleKey{check, scopeOf(al.Event)}
	b := t.buckets[k]
	if b == nil {
		b = &bucket{key: k, tokens: float64(t.cfg.Burst), last: al.Time}
		b.lru = t.lru.PushFront(b)
		t.buckets[k] = b
		out = t.evict(out)
	} else {
		t.lru.MoveToFront(b.lru)
	}
	t.refill(b, al.Time)
	if b.tokens >= 1 {
		b.tokens--
		al.Suppressed = b.suppressed
		b.suppressed, b.held = 0, nil
		return append(out, al)
	}
	b.suppressed++
	b.held = al
	if !b.pending {
		b.pending = true
		t.pending = append(t.pending, b)
		if due := t.due(b); t.nextDue.IsZero() || due.Before(t.nextDue) {
			t.nextDue = due
		}
	}
	return out
}

func (t *throttle) refill(b *bucket, now time.Time) {
	if now.After(b.last) {
		b.tokens += float64(now.Sub(b.last)) / float64(t.cfg.Refill)
		b.tokens = min(b.tokens, float64(t.cfg.Burst))
		b.last = now
	}
}

// due is when b has a token for its held alert.
func (t *throttle) due(b *bucket) time.Time {
	return b.last.Add(time.Duration((1 - b.tokens) * float64(t.cfg.Refill)))
}

// flush writes the held alerts of buckets that have refilled by now; a
// zero now flushes every one.
func (t *throttle) flush(now time.Time, out []*event.Alert) []*event.Alert {
	if len(t.pending) == 0 || (!now.IsZero() && now.Before(t.nextDue)) {
		return out
	}
	keep := t.pending[:0]
	t.nextDue = time.Time{}
	for _, b := range t.pending {
		due := t.due(b)
		if !now.IsZero() && now.Before(due) {
			keep = append(keep, b)
			if t.nextDue.IsZero() || due.Before(t.nextDue) {
				t.nextDue = due
			}
			continue
		}
		if b.held != nil {
			t.refill(b, due)
			b.tokens = max(b.tokens-1, 0)
			out = append(out, t.release(b))
		}
		b.pending = false
	}
	clear(t.pending[len(keep):])
	t.pending = keep
	return out
}

// release writes b's held alert with the count of those before it.
func (t *throttle) release(b *bucket) *event.Alert {
	al := b.held
	al.Suppressed = b.suppressed - 1
	b.suppressed, b.held = 0, nil
	return al
}

// evict drops least recently used buckets beyond the cap.
func (t *throttle) evict(out []*event.Alert) []*event.Alert {
	for t.lru.Len() > t.cfg.MaxKeys {
		b := t.lru.Remove(t.lru.Back()).(*bucket)
		delete(t.buckets, b.key)
		t.evicted++
		if b.held != nil {
			out = append(out, t.release(b))
		}
		if b.pending {
			for i, p := range t.pending {
				if p == b {
					t.pending = append(t.pending[:i], t.pending[i+1:]...)
					break
				}
			}
		}
	}
	return out
}
