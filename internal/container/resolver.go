package container

import (
	"github.com/vigil-sec/vigil/internal/event"
)

// Resolver maps cgroup paths to containers, caching by path so that the
// hot path parses each cgroup once. Values it returns are shared: never
// modify them. Not safe for concurrent use; the pipeline owns it.
type Resolver struct {
	cache map[string]*event.Container
	max   int
	host  *event.Container
}

// NewResolver caches up to max paths (cgroups come and go with
// containers; past max the cache starts over).
func NewResolver(max int) *Resolver {
	return &Resolver{cache: make(map[string]*event.Container), max: max, host: Host()}
}

// Resolve returns the container of a cgroup path, or the host container.
func (r *Resolver) Resolve(cgroupPath string) *event.Container {
	if c, ok := r.cache[cgroupPath]; ok {
		return c
	}
	c := r.host
	if id, ok := Parse(cgroupPath); ok {
		c = &event.Container{ID: id.ID, Runtime: id.Runtime}
		if id.PodUID != "" {
			c.Pod = &event.Pod{UID: id.PodUID}
		}
	}
	if len(r.cache) >= r.max {
		clear(r.cache)
	}
	r.cache[cgroupPath] = c
	return c
}

// Len is the number of cached paths.
func (r *Resolver) Len() int { return len(r.cache) }
