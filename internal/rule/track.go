package rule

import (
	"container/list"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// maxTrackValues bounds the distinct values remembered per key, and so
// what tracked_count can count.
const maxTrackValues = 64

// trackTable is the state of one track entry: recent keys, each with the
// distinct values seen for it, bounded in keys (least recently updated
// dropped first, counted) and in values per key. Times are event times.
type trackTable struct {
	spec    *trackSpec
	entries map[string]*list.Element
	lru     *list.List // of *trackEntry, front most recent
	evicted uint64
}

type trackEntry struct {
	key    string
	last   time.Time
	values []trackValue
}

type trackValue struct {
	v string
	t time.Time
}

func newTrackTable(spec *trackSpec) *trackTable {
	return &trackTable{spec: spec, entries: map[string]*list.Element{}, lru: list.New()}
}

// record notes value under key at now. Without a value expression every
// event counts, as if each had a value of its own.
func (t *trackTable) record(key string, value string, hasValue bool, now time.Time) {
	var e *trackEntry
	if el, ok := t.entries[key]; ok {
		e = el.Value.(*trackEntry)
		t.lru.MoveToFront(el)
	} else {
		e = &trackEntry{key: key}
		t.entries[key] = t.lru.PushFront(e)
		for t.lru.Len() > t.spec.maxKeys {
			old := t.lru.Remove(t.lru.Back()).(*trackEntry)
			delete(t.entries, old.key)
			if now.Sub(old.last) <= t.spec.window {
				t.evicted++ // forgotten while it still counted
			}
		}
	}
	if now.After(e.last) {
		e.last = now
	}
	for i := range e.values {
		if hasValue && e.values[i].v == value {
			e.values[i].t = now
			return
		}
	}
	if len(e.values) == maxTrackValues {
		oldest := 0
		for i := range e.values {
			if e.values[i].t.Before(e.values[oldest].t) {
				oldest = i
			}
		}
		e.values[oldest] = trackValue{value, now}
		return
	}
	e.values = append(e.values, trackValue{value, now})
}

// has says whether key was recorded within the window before now.
func (t *trackTable) has(key string, now time.Time) bool {
	return t.count(key, now) > 0
}

// count is how many distinct values key had within the window before now.
func (t *trackTable) count(key string, now time.Time) int {
	el, ok := t.entries[key]
	if !ok {
		return 0
	}
	n := 0
	for _, v := range el.Value.(*trackEntry).values {
		if now.Sub(v.t) <= t.spec.window {
			n++
		}
	}
	return n
}

// trackFuncs returns the implementations of tracked and tracked_count
// over an engine's tables; now reads the current event's time.
func trackFuncs(tables map[string]*trackTable, now func() time.Time) (tracked, count func(string, ...ref.Val) ref.Val) {
	lookup := func(args []ref.Val) (*trackTable, string, bool) {
		if len(args) != 2 {
			return nil, "", false
		}
		name, ok1 := args[0].(types.String)
		key, ok2 := args[1].(types.String)
		t := tables[string(name)]
		return t, string(key), ok1 && ok2 && t != nil
	}
	tracked = func(_ string, args ...ref.Val) ref.Val {
		t, key, ok := lookup(args)
		return types.Bool(ok && t.count(key, now()) > 0)
	}
	count = func(_ string, args ...ref.Val) ref.Val {
		t, key, ok := lookup(args)
		if !ok {
			return types.IntZero
		}
		return types.Int(t.count(key, now()))
	}
	return tracked, count
}
