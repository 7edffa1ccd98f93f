package container

import (
	"github.com/vigil-sec/vigil/internal/event"
)

// Resolver maps cgroup paths to containers for the pipeline, caching by
// path so that the hot path parses each cgroup once. The containers
// themselves live in its Table, where metadata sources update them. Values
// it returns are shared: never modify them. Not safe for concurrent use;
// the pipeline owns it (its Table is shared).
type Resolver struct {
	table *Table
	cache map[string]*slot // nil: the host
	max   int
	host  *event.ContainerRef
}

// NewResolver caches up to max paths (cgroups come and go with
// containers; past max the cache starts over) and keeps up to max
// containers in its table.
func NewResolver(max int) *Resolver {
	return &Resolver{table: NewTable(max), cache: make(map[string]*slot), max: max,
		host: event.NewContainerRef(Host())}
}

// Table is where the resolver's containers are kept current; metadata
// sources update it from their own goroutines.
func (r *Resolver) Table() *Table { return r.table }

// Bind returns the reference to the current metadata of a cgroup path's
// container (the host's outside containers, a value that never changes).
func (r *Resolver) Bind(cgroupPath string) *event.ContainerRef {
	if s, ok := r.cache[cgroupPath]; ok {
		if s == nil {
			return r.host
		}
		if !s.evicted.Load() {
			if !s.used.Load() {
				s.used.Store(true)
			}
			return s.ref
		}
	}
	var s *slot
	if id, ok := Parse(cgroupPath); ok {
		s = r.table.bind(id)
	}
	if len(r.cache) >= r.max {
		clear(r.cache)
	}
	r.cache[cgroupPath] = s
	if s == nil {
		return r.host
	}
	return s.ref
}

// Resolve returns the current container of a cgroup path, or the host
// container.
func (r *Resolver) Resolve(cgroupPath string) *event.Container {
	return r.Bind(cgroupPath).Load()
}

// Len is the number of cached paths.
func (r *Resolver) Len() int { return len(r.cache) }
