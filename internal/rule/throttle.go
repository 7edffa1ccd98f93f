package rule

import (
	"container/list"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// Throttle bounds the alerts of a rule at two levels, each a token
// bucket. Per source: a bucket per (rule, container) for containerised
// processes and per (rule, parent process) on the host, so that a loop
// spawning offenders shares one bucket. Per rule: a ceiling across all
// its sources, so that a loop whose every repeat has a new parent (a new
// source each time) is bounded too. An alert goes out only when both
// levels have a token. A match held back is never lost: the next alert
// of its source or rule to go out carries the count (Suppressed), so
// that summing 1 + Suppressed over the alerts gives the matches exactly.
// Time is the events' time, so replays throttle exactly as the live
// agent did.
type Throttle struct {
	// Disabled lets every alert through.
	Disabled bool
	// Burst alerts of one rule pass at once for one source; then one more
	// per Refill.
	Burst  int
	Refill time.Duration
	// RuleBurst alerts of one rule pass at once across all its sources;
	// then one more per RuleRefill. NoRuleCeiling turns this level off.
	RuleBurst     int
	RuleRefill    time.Duration
	NoRuleCeiling bool
	// MaxKeys bounds the per-source buckets kept; the least recently used
	// is dropped first, after writing what it held back.
	MaxKeys int
}

// DefaultThrottle lets 10 alerts through at once, then one every 10 s,
// per rule and source, and at most 100 at once, then 10 a second, per
// rule across its sources.
func DefaultThrottle() Throttle {
	return Throttle{Burst: 10, Refill: 10 * time.Second, RuleBurst: 100, RuleRefill: 100 * time.Millisecond,
		MaxKeys: 16384}
}

// tokens is a token bucket's level at a time.
type tokens struct {
	level float64
	last  time.Time
}

func (tk *tokens) refill(now time.Time, burst int, every time.Duration) {
	if now.After(tk.last) {
		tk.level = min(tk.level+float64(now.Sub(tk.last))/float64(every), float64(burst))
		tk.last = now
	}
}

// due is when the bucket holds a whole token again.
func (tk *tokens) due(every time.Duration) time.Time {
	if tk.level >= 1 {
		return tk.last
	}
	return tk.last.Add(time.Duration((1 - tk.level) * float64(every)))
}

// held is what a bucket holds back: n matches, of which the latest is
// kept to be written with the count of the others.
type held struct {
	count  uint64
	latest *event.Alert
}

// add holds al back, with the matches it already stands for; it returns
// the alert al replaces, if any, which nothing else refers to.
func (h *held) add(al *event.Alert) (replaced *event.Alert) {
	h.count += 1 + al.Suppressed
	replaced, h.latest = h.latest, al
	return replaced
}

// take returns the latest held alert standing for all that were held.
func (h *held) take() *event.Alert {
	al := h.latest
	al.Suppressed = h.count - 1
	*h = held{}
	return al
}

// limiter is a token bucket that holds back what it cannot let through.
type limiter struct {
	tokens
	held
	// pending says it is queued to write what it holds when it is due.
	pending bool
}

func (l *limiter) lim() *limiter { return l }

// holdBack holds al back; it reports whether the limiter was not queued
// yet and is now to be. The alert al replaces becomes the throttle's spare.
func (l *limiter) holdBack(t *throttle, al *event.Alert) bool {
	if old := l.add(al); old != nil {
		t.spare = old
	}
	if l.pending {
		return false
	}
	l.pending = true
	return true
}

// spend takes the token that the alert it writes at due costs, if the
// bucket has refilled to one by then.
func (l *limiter) spend(due time.Time, burst int, every time.Duration) {
	l.refill(due, burst, every)
	l.level = max(l.level-1, 0)
}

// throttleKey is a rule and a source: the source's kind ('c' container,
// 'p' parent, 'e' the process itself, 0 none) apart from its id, so that
// a key costs no string concatenation per alert.
type throttleKey struct {
	check int32
	kind  byte
	id    string
}

// bucket is one rule's bucket for one source.
type bucket struct {
	key throttleKey
	limiter
	lru *list.Element
}

// ceiling is one rule's bucket across its sources.
type ceiling struct {
	check int32
	limiter
	// heldTotal counts the matches it ever held back.
	heldTotal uint64
}

type throttle struct {
	cfg      Throttle
	buckets  map[throttleKey]*bucket
	lru      *list.List // front: most recently used
	ceilings map[int32]*ceiling
	// pending buckets and ceilings hold an alert back, in the order they
	// started to; nextDue is no later than the first of them is due.
	pending        []*bucket
	pendingCeiling []*ceiling
	nextDue        time.Time
	// latest is the latest time the throttle has seen.
	latest  time.Time
	evicted uint64
	// emit, when set, sees every alert as it leaves the throttle.
	emit func(check int32, al *event.Alert)
	// spare is an alert a later match replaced while it was held back:
	// never written, referred to by nothing, reused by the next match
	// (newAlert) instead of a new allocation.
	spare *event.Alert
}

// newAlert is room for an alert, which the caller sets in full: the
// spare if there is one.
func (t *throttle) newAlert() *event.Alert {
	al := t.spare
	if al == nil {
		return new(event.Alert)
	}
	t.spare = nil
	return al
}

func newThrottle(cfg Throttle) *throttle {
	def := DefaultThrottle()
	if cfg.Burst <= 0 {
		cfg.Burst = def.Burst
	}
	if cfg.Refill <= 0 {
		cfg.Refill = def.Refill
	}
	if cfg.RuleBurst <= 0 {
		cfg.RuleBurst = def.RuleBurst
	}
	if cfg.RuleRefill <= 0 {
		cfg.RuleRefill = def.RuleRefill
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = def.MaxKeys
	}
	return &throttle{cfg: cfg, buckets: map[throttleKey]*bucket{}, lru: list.New(), ceilings: map[int32]*ceiling{}}
}

// sourceOf is the source an alert is throttled by: its kind and id.
func sourceOf(ev *event.Event) (byte, string) {
	p := ev.Process
	if p == nil {
		return 0, ""
	}
	if c := p.Container; c != nil && c.ID != "" && c.ID != event.HostContainerID {
		return 'c', c.ID
	}
	if p.ParentExecID != "" {
		return 'p', p.ParentExecID
	}
	return 'e', p.ExecID
}

// scopeOf says sourceOf as "kind:id" ("" for none).
func scopeOf(ev *event.Event) string {
	kind, id := sourceOf(ev)
	if kind == 0 {
		return ""
	}
	return string(kind) + ":" + id
}

// admit lets al through or holds it back; it returns out with what to
// write.
func (t *throttle) admit(check int32, al *event.Alert, out []*event.Alert) []*event.Alert {
	if t.cfg.Disabled {
		return t.release(check, al, out)
	}
	if al.Time.After(t.latest) {
		t.latest = al.Time
	}
	kind, id := sourceOf(al.Event)
	k := throttleKey{check, kind, id}
	b := t.buckets[k]
	if b == nil {
		b = &bucket{key: k, limiter: limiter{tokens: tokens{level: float64(t.cfg.Burst), last: al.Time}}}
		b.lru = t.lru.PushFront(b)
		t.buckets[k] = b
		out = t.evict(al.Time, out)
	} else {
		t.lru.MoveToFront(b.lru)
	}
	b.refill(al.Time, t.cfg.Burst, t.cfg.Refill)
	if b.level < 1 {
		if b.holdBack(t, al) {
			t.pending = append(t.pending, b)
			t.schedule(b.due(t.cfg.Refill))
		}
		return out
	}
	b.level--
	if b.count > 0 { // al stands for what its source held back
		al.Suppressed += b.count
		b.held = held{}
	}
	return t.pass(check, al, al.Time, out)
}

// pass lets an alert that its source's bucket let through past the
// rule's ceiling, or holds it back there.
func (t *throttle) pass(check int32, al *event.Alert, now time.Time, out []*event.Alert) []*event.Alert {
	if t.cfg.NoRuleCeiling {
		return t.release(check, al, out)
	}
	c := t.ceilings[check]
	if c == nil {
		c = &ceiling{check: check, limiter: limiter{tokens: tokens{level: float64(t.cfg.RuleBurst), last: now}}}
		t.ceilings[check] = c
	}
	c.refill(now, t.cfg.RuleBurst, t.cfg.RuleRefill)
	if c.level >= 1 {
		c.level--
		return t.release(check, al, out)
	}
	c.heldTotal += 1 + al.Suppressed
	if c.holdBack(t, al) {
		t.pendingCeiling = append(t.pendingCeiling, c)
		t.schedule(c.due(t.cfg.RuleRefill))
	}
	return out
}

func (t *throttle) schedule(due time.Time) {
	if t.nextDue.IsZero() || due.Before(t.nextDue) {
		t.nextDue = due
	}
}

// flush writes the held alerts of buckets that have refilled by now; a
// zero now (draining) writes every one. A ceiling's summary goes out
// first, so that sources refilling cannot keep it waiting; a source's
// held alert then meets the ceiling like any other, and what the ceiling
// holds back of it goes out in the ceiling's summary. Draining lets no
// time pass: a source's held alert meets the ceiling as it is at the
// latest event, so that a drain writes at most one summary per rule
// beyond what the ceiling allowed.
func (t *throttle) flush(now time.Time, out []*event.Alert) []*event.Alert {
	if len(t.pending) == 0 && len(t.pendingCeiling) == 0 {
		return out
	}
	drain := now.IsZero()
	if !drain && now.Before(t.nextDue) {
		return out
	}
	if now.After(t.latest) {
		t.latest = now
	}
	t.nextDue = time.Time{}
	if !drain {
		out = t.flushCeilings(now, out)
	}
	t.pending = flushQueue(t, t.pending, now, t.cfg.Refill, func(b *bucket, due time.Time) {
		at := t.latest
		if !drain {
			b.spend(due, t.cfg.Burst, t.cfg.Refill)
			at = due
		}
		out = t.pass(b.key.check, b.take(), at, out)
	})
	return t.flushCeilings(now, out)
}

func (t *throttle) flushCeilings(now time.Time, out []*event.Alert) []*event.Alert {
	t.pendingCeiling = flushQueue(t, t.pendingCeiling, now, t.cfg.RuleRefill, func(c *ceiling, due time.Time) {
		if !now.IsZero() { // draining takes no token: the one summary beyond the ceiling
			c.spend(due, t.cfg.RuleBurst, t.cfg.RuleRefill)
		}
		out = t.release(c.check, c.take(), out)
	})
	return out
}

// release appends al, which leaves the throttle, to out.
func (t *throttle) release(check int32, al *event.Alert, out []*event.Alert) []*event.Alert {
	if t.emit != nil {
		t.emit(check, al)
	}
	return append(out, al)
}

// flushQueue calls write, in order, for the queued limiters that hold
// something back and are due by now (all of them when draining: a zero
// now), and drops them from the queue with those that hold nothing. It
// returns what stays queued, and schedules the next flush for it.
func flushQueue[L interface{ lim() *limiter }](t *throttle, queue []L, now time.Time, every time.Duration, write func(l L, due time.Time)) []L {
	keep := queue[:0]
	for _, x := range queue {
		l := x.lim()
		due := l.due(every)
		if l.count > 0 && !now.IsZero() && now.Before(due) {
			keep = append(keep, x)
			t.schedule(due)
			continue
		}
		l.pending = false
		if l.count > 0 {
			write(x, due)
		}
	}
	clear(queue[len(keep):])
	return keep
}

// evict drops least recently used buckets beyond the cap; what they held
// goes to the rule's ceiling.
func (t *throttle) evict(now time.Time, out []*event.Alert) []*event.Alert {
	for t.lru.Len() > t.cfg.MaxKeys {
		b := t.lru.Remove(t.lru.Back()).(*bucket)
		delete(t.buckets, b.key)
		t.evicted++
		// a pending bucket stays in t.pending: taken empty here, the
		// next flush drops it (a scan of the list per eviction would
		// make every alert of a fresh-parent flood cost O(MaxKeys))
		if b.count > 0 {
			out = t.pass(b.key.check, b.take(), now, out)
		}
	}
	return out
}

// ceilingHeld counts the matches the rules' ceilings held back.
func (t *throttle) ceilingHeld() uint64 {
	var n uint64
	for _, c := range t.ceilings {
		n += c.heldTotal
	}
	return n
}
