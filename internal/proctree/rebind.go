package proctree

import "github.com/vigil-sec/vigil/internal/event"

// Rename gives the live process with this pid a new comm, as rebind gives
// it new container metadata: a copy, so that events holding the old one
// keep it. It returns the stored process, nil for a pid not stored live.
func (t *Tree) Rename(pid uint32, comm string) *event.Process {
	n, ok := t.nodes[pid]
	if !ok || n.exited() {
		return nil
	}
	t.lru.moveToFront(n)
	p := t.rebind(n)
	if p.Comm == comm {
		return p
	}
	q := p.Clone()
	q.Comm = comm
	q.Seal()
	n.proc = q
	return q
}

// rebind brings n's process up to date with its container's metadata,
// which may have been learnt after the process was stored (a pod's name
// comes from Kubernetes seconds after the container's first exec). A
// process, once stored, is never modified, and events already holding it
// keep what they saw: the tree stores a copy bound to the new value, with
// its own JSON cache. Children see it as their parent from then on, since
// lineage goes through Get.
//
// Costs one atomic load per lookup while nothing changes, and one copy
// (and one encoding) per process per change of its container.
func (t *Tree) rebind(n *node) *event.Process {
	p := n.proc
	if p.ContainerRef == nil {
		return p
	}
	c := p.ContainerRef.Load()
	if c == nil || c == p.Container {
		return p
	}
	q := p.Clone()
	q.Container = c
	q.Seal()
	n.proc = q
	t.rebinds++
	return q
}
