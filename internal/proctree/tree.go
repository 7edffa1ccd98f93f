// Package proctree is vigil's process cache: who is who, and who started
// whom, so that every event can carry its process, its parent and its
// ancestors. It holds at most a configured number of processes (least
// recently used go first), keeps exited ones for a grace period so late
// events still resolve, and reports its size and evictions.
//
// The tree stores *event.Process values and never modifies one after
// storing it: a fork or an exec stores a new value, and so does news of
// the process's container (see rebind). Events may therefore keep the
// pointers they get. A Tree is not safe for concurrent use; the pipeline
// goroutine owns it.
package proctree

import (
	"container/list"
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
}

// DefaultConfig fits a busy node: 64k processes is ~30 MB at most.
func DefaultConfig() Config {
	return Config{MaxEntries: 65536, ExitGrace: 30 * time.Second, AncestorDepth: 8}
}

// Tree is the cache.
type Tree struct {
	cfg       Config
	nodes     map[uint32]*node
	lru       list.List // of *node, most recently used first
	exited    []*node   // in exit order, for expiry
	evictions uint64
	expired   uint64
	rebinds   uint64
}

type node struct {
	proc   *event.Process
	exitAt time.Time // zero while the process lives
	elem   *list.Element
}

// New makes an empty tree.
func New(cfg Config) *Tree {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultConfig().MaxEntries
	}
	t := &Tree{cfg: cfg, nodes: make(map[uint32]*node)}
	t.lru.Init()
	return t
}

// Put stores p as the current image of its pid (after an exec, or from a
// snapshot), replacing what was there. p is sealed: it must not change
// after this.
func (t *Tree) Put(p *event.Process) {
	p.Seal()
	if n, ok := t.nodes[p.PID]; ok {
		if n.exitAt.IsZero() {
			n.proc = p
			t.lru.MoveToFront(n.elem)
			return
		}
		// pid reused after an exit: a fresh node, so the old one's place
		// in the exit queue no longer refers to anything current
		t.remove(n)
	}
	n := &node{proc: p}
	n.elem = t.lru.PushFront(n)
	t.nodes[p.PID] = n
	for len(t.nodes) > t.cfg.MaxEntries {
		t.remove(t.lru.Back().Value.(*node))
		t.evictions++
	}
}

// Get returns the process with this pid, or nil.
func (t *Tree) Get(pid uint32) *event.Process {
	n, ok := t.nodes[pid]
	if !ok {
		return nil
	}
	t.lru.MoveToFront(n.elem)
	return t.rebind(n)
}

// Exit marks pid as exited at the given time; it stays resolvable for the
// grace period.
func (t *Tree) Exit(pid uint32, at time.Time) {
	n, ok := t.nodes[pid]
	if !ok || !n.exitAt.IsZero() {
		return
	}
	n.exitAt = at
	t.exited = append(t.exited, n)
}

// Expire forgets processes that exited more than the grace period before
// now. Pass event time, not the wall clock, so replays behave the same.
func (t *Tree) Expire(now time.Time) {
	cut := now.Add(-t.cfg.ExitGrace)
	i := 0
	for ; i < len(t.exited); i++ {
		n := t.exited[i]
		if n.exitAt.After(cut) {
			break
		}
		// a node that was replaced (pid reuse) or evicted is skipped
		if cur, ok := t.nodes[n.proc.PID]; ok && cur == n {
			t.remove(n)
			t.expired++
		}
	}
	t.exited = append(t.exited[:0], t.exited[i:]...)
}

func (t *Tree) remove(n *node) {
	t.lru.Remove(n.elem)
	if cur, ok := t.nodes[n.proc.PID]; ok && cur == n {
		delete(t.nodes, n.proc.PID)
	}
}

// Stats are the tree's size and turnover.
type Stats struct {
	Entries   int    `json:"entries"`
	Exited    int    `json:"exited"`    // of Entries, waiting out their grace
	Evictions uint64 `json:"evictions"` // forgotten because the tree was full
	Expired   uint64 `json:"expired"`   // forgotten after their grace period
	Rebinds   uint64 `json:"rebinds"`   // copies made to carry newer container metadata
}

// Counts reports the tree's size and turnover in constant time: Stats
// without Exited, which takes a walk of the exited processes (tens of
// thousands at a high exec rate). For readings taken often.
func (t *Tree) Counts() Stats {
	return Stats{Entries: len(t.nodes), Evictions: t.evictions, Expired: t.expired, Rebinds: t.rebinds}
}

// Stats reports the tree's size and turnover.
func (t *Tree) Stats() Stats {
	exited := 0
	for _, n := range t.exited {
		if cur, ok := t.nodes[n.proc.PID]; ok && cur == n {
			exited++
		}
	}
	return Stats{Entries: len(t.nodes), Exited: exited, Evictions: t.evictions, Expired: t.expired, Rebinds: t.rebinds}
}
