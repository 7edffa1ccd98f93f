package observe

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
)

// DefaultCgroups is how many cgroups each observer's kernel table holds
// unless told otherwise; a cgroup past it is counted as stats_full.
const DefaultCgroups = 4096

// Observer is one loaded observer.
type Observer interface {
	// Name is the observer's name (CPU, Memory, …).
	Name() string
	// Read adds the observer's figures to s.
	Read(s *Snapshot) error
	// Programs are its BPF programs, for their run statistics.
	Programs() map[string]*ebpf.Program
	Close() error
}

// ReadPerCPU calls each with every cgroup id in m, a per-CPU hash keyed
// by cgroup id, and its values on every CPU.
func ReadPerCPU[V any](m *ebpf.Map, each func(id uint64, perCPU []V)) error {
	var (
		id  uint64
		per []V
	)
	it := m.Iterate()
	for it.Next(&id, &per) {
		each(id, per)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read %s: %w", m, err)
	}
	return nil
}

// ReadLosses adds the observer's loss counters (its obs_losses per-CPU
// array) to s under "name/reason".
func ReadLosses(name string, l *bpfload.Loaded, s *Snapshot) error {
	m := l.Coll.Maps["obs_losses"]
	if m == nil {
		return fmt.Errorf("%s observer has no obs_losses map", name)
	}
	for i, reason := range []string{"stats_full", "pending_full"} {
		var per []uint64
		if err := m.Lookup(uint32(i), &per); err != nil {
			return fmt.Errorf("read %s losses: %w", name, err)
		}
		for _, n := range per {
			s.Losses[name+"/"+reason] += n
		}
	}
	return nil
}

// SizeTable sets the per-cgroup table's size in spec (0: DefaultCgroups).
func SizeTable(spec *ebpf.CollectionSpec, cgroups int) error {
	m, ok := spec.Maps["stats"]
	if !ok {
		return fmt.Errorf("object has no stats map")
	}
	if cgroups < 0 {
		return fmt.Errorf("observe cgroups: %d; want a positive count, or 0 for the default", cgroups)
	}
	if cgroups == 0 {
		cgroups = DefaultCgroups
	}
	m.MaxEntries = uint32(cgroups)
	return nil
}

// Object is an observer's loaded kernel object: its programs attached,
// its per-cgroup table sized.
type Object struct{ *bpfload.Loaded }

// LoadObject loads the object load returns (bpf2go's loadX), sizes its
// per-cgroup table to cgroups (0: DefaultCgroups) and attaches it, sharing
// r's ring buffer.
func LoadObject(r *ring.Ring, name string, load func() (*ebpf.CollectionSpec, error), cgroups int) (Object, error) {
	spec, err := kernel.LoadSpec(load)
	if err != nil {
		return Object{}, err
	}
	if err := SizeTable(spec, cgroups); err != nil {
		return Object{}, err
	}
	l, err := bpfload.Load(r, bpfload.Object{Name: name + " observer", Spec: spec})
	if err != nil {
		return Object{}, err
	}
	return Object{l}, nil
}

// Degraded is always "": an observer runs whole or not at all.
func (Object) Degraded() string { return "" }
