// Package proctree is vigil's process cache: who is who, and who started
// whom, so that every event can carry its process, its parent and its
// ancestors. It holds at most a configured number of processes (least
// recently used go first, but every exited one before any live one), keeps
// exited ones for a grace period so late events still resolve, asks
// Config.Recover for a process it does not hold (the agent reads /proc),
// and reports its size and evictions.
//
// The tree stores *event.Process values and never modifies one after
// storing it: a fork or an exec stores a new value, and so does news of
// the process's container (see rebind). Events may therefore keep the
// pointers they get. A Tree is not safe for concurrent use; the pipeline
// goroutine owns it.
package proctree

import (
	"math"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// Config bounds the tree.
type Config struct {
	// MaxEntries is the hard cap on cached processes.
	MaxEntries int
	// ExitGrace is how long an exited process stays resolvable.
	ExitGrace time.Duration
	// AncestorDepth is how many ancestors above the parent an event lists.
	AncestorDepth int
	// Recover, when set, finds a live process the tree does not hold
	// (its fork and exec were lost, or it was evicted), or returns nil.
	// The tree stores what it returns.
	Recover func(pid uint32) *event.Process
}

// DefaultConfig fits a busy node. A cached short-lived process holds
// about 570 bytes of heap with the default output, which builds no JSON
// for it, and 1.26 KB when every event is written (its sealed JSON kept
// with it): its image, exec id, argv and node, with the strings and files
// it shares with the other processes of its program counted once
// (BenchmarkProcessCacheMemory, docs/benchmarks.md "The exec path's CPU
// and the process cache's memory"). The cap of 64k processes is thus
// ~37 MB (~83 MB with every event written), plus a command line's bytes
// for each process whose argv is unlike the others', reached only by
// ~2 000 exits a second (ExitGrace keeps each exited process 30 s).
func DefaultConfig() Config {
	return Config{MaxEntries: 65536, ExitGrace: 30 * time.Second, AncestorDepth: 8}
}

// Tree is the cache.
type Tree struct {
	cfg   Config
	nodes map[uint32]*node
	lru   queue // the live nodes, most recently used first
	// exited holds the exited nodes in exit order: expiry takes them
	// from the front, and so does eviction, before any live node
	exited        queue
	evictions     uint64
	liveEvictions uint64
	expired       uint64
	rebinds       uint64
	recovered     uint64
	// unrecoverable are pids Recover did not find: not asked again until
	// the sensors report a process with the pid (Put), so events of
	// orphans cost no /proc read each. Cleared whole when it grows past
	// the cache's size.
	unrecoverable map[uint32]struct{}
}

// node is a cached process, linked into the live or the exited queue:
// 32 bytes, one allocation (a list.Element of its own would be a second,
// of 48).
type node struct {
	proc       *event.Process
	exitAt     int64 // Unix ns of the exit; live while the process lives
	prev, next *node
}

// live is node.exitAt while the process has not exited.
const live = math.MinInt64

func (n *node) exited() bool { return n.exitAt != live }

// New makes an empty tree.
func New(cfg Config) *Tree {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultConfig().MaxEntries
	}
	t := &Tree{cfg: cfg, nodes: make(map[uint32]*node), unrecoverable: make(map[uint32]struct{})}
	t.lru.init()
	t.exited.init()
	return t
}

// Put stores p as the current image of its pid (after an exec, or from a
// snapshot), replacing what was there. p is sealed: it must not change
// after this.
func (t *Tree) Put(p *event.Process) {
	p.Seal()
	delete(t.unrecoverable, p.PID)
	if n, ok := t.nodes[p.PID]; ok {
		if !n.exited() {
			n.proc = p
			t.lru.moveToFront(n)
			return
		}
		// pid reused after an exit: a fresh node, so the old one's place
		// in the exit queue no longer refers to anything current
		t.remove(n)
	}
	n := &node{proc: p, exitAt: live}
	t.lru.pushFront(n)
	t.nodes[p.PID] = n
	for len(t.nodes) > t.cfg.MaxEntries {
		t.evictOne()
	}
}

// evictOne forgets the process that exited first or, when none has exited,
// the live one least recently used: a quiet live process (a web server
// between requests) outlives any number of short-lived ones.
func (t *Tree) evictOne() {
	t.evictions++
	if n := t.exited.front(); n != nil {
		t.remove(n)
		return
	}
	t.liveEvictions++
	t.remove(t.lru.back())
}

// Get returns the process with this pid, or nil.
func (t *Tree) Get(pid uint32) *event.Process {
	n, ok := t.nodes[pid]
	if !ok {
		return nil
	}
	if !n.exited() {
		t.lru.moveToFront(n)
	}
	return t.rebind(n)
}

// SetRecover sets Config.Recover, for a caller that needs the tree to
// build it.
func (t *Tree) SetRecover(fn func(pid uint32) *event.Process) { t.cfg.Recover = fn }

// Lookup is Get, or else what Config.Recover finds, stored.
func (t *Tree) Lookup(pid uint32) *event.Process {
	if p := t.Get(pid); p != nil || t.cfg.Recover == nil || pid == 0 {
		return p
	}
	if _, ok := t.unrecoverable[pid]; ok {
		return nil
	}
	p := t.cfg.Recover(pid)
	if p == nil {
		if len(t.unrecoverable) >= t.cfg.MaxEntries {
			clear(t.unrecoverable)
		}
		t.unrecoverable[pid] = struct{}{}
		return nil
	}
	t.recovered++
	t.Put(p)
	return p
}

// Exit marks pid as exited at the given time; it stays resolvable for the
// grace period.
func (t *Tree) Exit(pid uint32, at time.Time) {
	n, ok := t.nodes[pid]
	if !ok || n.exited() {
		return
	}
	t.lru.remove(n)
	n.exitAt = max(at.UnixNano(), live+1)
	t.exited.pushBack(n)
}

// Expire forgets processes that exited more than the grace period before
// now. Pass event time, not the wall clock, so replays behave the same.
func (t *Tree) Expire(now time.Time) {
	cut := now.Add(-t.cfg.ExitGrace).UnixNano()
	for n := t.exited.front(); n != nil; n = t.exited.front() {
		if n.exitAt > cut {
			break
		}
		t.remove(n)
		t.expired++
	}
}

// remove forgets n, from whichever list holds it.
func (t *Tree) remove(n *node) {
	if n.exited() {
		t.exited.remove(n)
	} else {
		t.lru.remove(n)
	}
	if cur, ok := t.nodes[n.proc.PID]; ok && cur == n {
		delete(t.nodes, n.proc.PID)
	}
}

// Stats are the tree's size and turnover.
type Stats struct {
	Entries   int    `json:"entries"`
	Exited    int    `json:"exited"`    // of Entries, waiting out their grace
	Evictions uint64 `json:"evictions"` // forgotten because the tree was full
	// LiveEvictions are the evictions of live processes, which happen
	// only when the tree is full of live ones: raise --proc-cache-size
	LiveEvictions uint64 `json:"live_evictions"`
	Recovered     uint64 `json:"recovered"` // found by Recover (/proc) after a miss
	Expired       uint64 `json:"expired"`   // forgotten after their grace period
	Rebinds       uint64 `json:"rebinds"`   // copies made to carry newer container metadata
}

// Stats reports the tree's size and turnover, in constant time.
func (t *Tree) Stats() Stats {
	return Stats{Entries: len(t.nodes), Exited: t.exited.n, Evictions: t.evictions, LiveEvictions: t.liveEvictions,
		Expired: t.expired, Rebinds: t.rebinds, Recovered: t.recovered}
}
