package observe

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// Pruner is an observer whose kernel table can forget cgroups.
type Pruner interface {
	// Name is the observer's name.
	Name() string
	// CgroupIDs are the cgroups its kernel table holds.
	CgroupIDs() ([]uint64, error)
	// Forget deletes ids' entries from its kernel table, returning how
	// many it deleted (an id already gone is not counted).
	Forget(ids []uint64) (int, error)
}

// CgroupIDs are the cgroups t's kernel table holds.
func (t *Table[V]) CgroupIDs() ([]uint64, error) {
	m := t.Coll.Maps[statsMap]
	var (
		ids  []uint64
		prev any // nil (not a nil *uint64): the first key
		next uint64
	)
	for {
		err := m.NextKey(prev, &next)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return ids, nil // the end
		}
		if err != nil {
			return ids, fmt.Errorf("list %s: %w", m, err)
		}
		ids = append(ids, next)
		k := next
		prev = &k
	}
}

// Forget deletes ids' entries from t's kernel table.
func (t *Table[V]) Forget(ids []uint64) (int, error) {
	m := t.Coll.Maps[statsMap]
	n := 0
	for _, id := range ids {
		err := m.Delete(id)
		switch {
		case err == nil:
			n++
		case errors.Is(err, ebpf.ErrKeyNotExist):
		default:
			return n, fmt.Errorf("delete cgroup %d from %s: %w", id, m, err)
		}
	}
	return n, nil
}

// Prune deletes from each pruner's kernel table the cgroups that no
// longer exist: those a walk of fs, started after the tables were listed,
// does not find. A cgroup created meanwhile is found (an entry is only
// made for a cgroup that exists); a removed cgroup whose sockets live on
// may come back, and goes at the next prune. It returns how many entries
// it deleted, by observer name; nothing is deleted when the walk could
// not read the cgroup2 mount.
func Prune(fs *Cgroupfs, ps ...Pruner) (map[string]uint64, error) {
	listed := make([][]uint64, len(ps))
	var errs []error
	for i, p := range ps {
		ids, err := p.CgroupIDs()
		if err != nil {
			errs = append(errs, err)
			continue // a partial list still lists cgroups
		}
		listed[i] = ids
	}
	exist, ok := fs.Rescan()
	if !ok {
		return nil, errors.Join(append(errs, fmt.Errorf("walk %s: no cgroup2 root found; nothing pruned", fs.Root))...)
	}
	pruned := make(map[string]uint64)
	for i, p := range ps {
		var gone []uint64
		for _, id := range listed[i] {
			if _, ok := exist[id]; !ok {
				gone = append(gone, id)
			}
		}
		if len(gone) == 0 {
			continue
		}
		n, err := p.Forget(gone)
		if err != nil {
			errs = append(errs, err)
		}
		pruned[p.Name()] += uint64(n)
	}
	return pruned, errors.Join(errs...)
}
