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

// The maps every observer's object has (bpf/lib/observe.h): its
// per-cgroup table and its loss counters.
const (
	statsMap  = "stats"
	lossesMap = "obs_losses"
)

// TableSpec describes an observer whose kernel object counts into one
// per-CPU hash keyed by cgroup id (its "stats" map) and counts what it
// could not keep in an obs_losses array: every observer here.
type TableSpec[V any] struct {
	// Name is the observer's name (CPU, Memory, …).
	Name string
	// Load is bpf2go's loadX: the object's spec.
	Load func() (*ebpf.CollectionSpec, error)
	// Add adds a cgroup's table entry, one value per CPU, to st.
	Add func(id uint64, st *Stats, perCPU []V)
	// Then, when set, adds what the table does not hold (figures the
	// kernel keeps in cgroupfs, other tables) once the table is read.
	Then func(s *Snapshot) error
	// Knobs, when set, gives the object's const volatile knobs, by name,
	// to set before load.
	Knobs func() (map[string]any, error)
}

// Table is a loaded observer of a TableSpec: its programs attached to the
// hooks their sections name, its per-cgroup table sized.
type Table[V any] struct {
	*bpfload.Loaded
	spec TableSpec[V]
}

// LoadTable loads spec's object, sizes its per-cgroup table to cgroups
// (0: DefaultCgroups) and attaches it, sharing r's ring buffer.
func LoadTable[V any](r *ring.Ring, cgroups int, spec TableSpec[V]) (*Table[V], error) {
	cs, err := kernel.LoadSpec(spec.Load)
	if err != nil {
		return nil, err
	}
	if err := SizeTable(cs, cgroups); err != nil {
		return nil, err
	}
	var knobs map[string]any
	if spec.Knobs != nil {
		if knobs, err = spec.Knobs(); err != nil {
			return nil, fmt.Errorf("%s observer: %w", spec.Name, err)
		}
	}
	l, err := bpfload.Load(r, bpfload.Object{Name: spec.Name + " observer", Spec: cs, Knobs: knobs})
	if err != nil {
		return nil, err
	}
	return &Table[V]{Loaded: l, spec: spec}, nil
}

// Name is the observer's name.
func (t *Table[V]) Name() string { return t.spec.Name }

// Degraded is always "": an observer runs whole or not at all.
func (t *Table[V]) Degraded() string { return "" }

// Read adds every cgroup's entry of the table, and the loss counters, to s.
func (t *Table[V]) Read(s *Snapshot) error {
	err := EachPerCPU(t.Coll.Maps[statsMap], func(id uint64, per []V) {
		t.spec.Add(id, s.Cgroup(id), per)
	})
	if err != nil {
		return err
	}
	if t.spec.Then != nil {
		if err := t.spec.Then(s); err != nil {
			return err
		}
	}
	return t.readLosses(s)
}

// EachPerCPU calls each with every key of m, a per-CPU map, and its
// values on every CPU.
func EachPerCPU[K, V any](m *ebpf.Map, each func(k K, perCPU []V)) error {
	var (
		k   K
		per []V
	)
	it := m.Iterate()
	for it.Next(&k, &per) {
		each(k, per)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read %s: %w", m, err)
	}
	return nil
}

// readLosses adds the loss counters (the obs_losses per-CPU array) to s
// under "name/reason".
func (t *Table[V]) readLosses(s *Snapshot) error {
	m := t.Coll.Maps[lossesMap]
	if m == nil {
		return fmt.Errorf("%s observer has no %s map", t.spec.Name, lossesMap)
	}
	for i, reason := range []string{"stats_full", "pending_full"} {
		var per []uint64
		if err := m.Lookup(uint32(i), &per); err != nil {
			return fmt.Errorf("read %s losses: %w", t.spec.Name, err)
		}
		for _, n := range per {
			s.Losses[t.spec.Name+"/"+reason] += n
		}
	}
	return nil
}

// SizeTable sets the per-cgroup table's size in spec (0: DefaultCgroups).
func SizeTable(spec *ebpf.CollectionSpec, cgroups int) error {
	m, ok := spec.Maps[statsMap]
	if !ok {
		return fmt.Errorf("object has no %s map", statsMap)
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
