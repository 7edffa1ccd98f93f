package event

import "sync/atomic"

// ContainerRef is the current metadata of one container, shared by every
// process that runs in it. The metadata is learnt in steps (the id from the
// cgroup path at the first exec, names and images from the runtime, pods
// from Kubernetes, seconds later), so a Process cannot be given its final
// Container when it is published. It is given this reference instead, and
// the process tree re-binds it when the reference holds a newer value.
//
// Each value stored is a new, immutable *Container: a reader holding the
// old one is never affected, and pointer identity is the version.
type ContainerRef struct {
	cur atomic.Pointer[Container]
	// pending is set while a metadata source is still looking the
	// container up, so the pipeline may hold the container's first events
	// (for a bounded time) until the names arrive.
	pending atomic.Bool
}

// NewContainerRef makes a reference holding c.
func NewContainerRef(c *Container) *ContainerRef {
	r := &ContainerRef{}
	r.cur.Store(c)
	return r
}

// Load returns the current value, nil if none was ever stored. Safe for
// concurrent use; it never blocks.
func (r *ContainerRef) Load() *Container { return r.cur.Load() }

// Store publishes c, which must not be modified afterwards. Safe for
// concurrent use.
func (r *ContainerRef) Store(c *Container) { r.cur.Store(c) }

// Pending reports whether a metadata source is still looking the
// container up. Safe for concurrent use.
func (r *ContainerRef) Pending() bool { return r.pending.Load() }

// SetPending says whether a metadata source is still looking the container
// up. Safe for concurrent use.
func (r *ContainerRef) SetPending(p bool) { r.pending.Store(p) }
