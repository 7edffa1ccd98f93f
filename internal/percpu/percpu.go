// Package percpu reads the per-CPU counter arrays the kernel objects keep
// (loss counters, enforcement hits): one value per CPU per key, summed.
package percpu

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// Sums returns, for keys 0..n-1 of a BPF_MAP_TYPE_PERCPU_ARRAY of uint64,
// each key's sum over the CPUs. It reads the array in one batch syscall
// (the agent does this every second, and one lookup per key was hundreds
// of syscalls each time), or key by key where the kernel has no batch
// operations on arrays (before 5.6).
func Sums(m *ebpf.Map, n uint32) ([]uint64, error) {
	if n == 0 {
		return nil, nil
	}
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("possible CPUs: %w", err)
	}
	if sums, err := batchSums(m, n, cpus); err == nil {
		return sums, nil
	}
	// no batch operations here (or a short batch): key by key, whose error
	// is the one worth reporting
	return lookupSums(m, n)
}

func batchSums(m *ebpf.Map, n uint32, cpus int) ([]uint64, error) {
	keys := make([]uint32, n)
	values := make([]uint64, int(n)*cpus)
	var cursor ebpf.MapBatchCursor
	got, err := m.BatchLookup(&cursor, keys, values, nil)
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return nil, err
	}
	sums := make([]uint64, n)
	for i := range got {
		if keys[i] >= n {
			continue
		}
		var sum uint64
		for _, v := range values[i*cpus : (i+1)*cpus] {
			sum += v
		}
		sums[keys[i]] = sum
	}
	if uint32(got) < n {
		// an array holds every key: a short batch means the map is smaller
		// than the caller thinks
		return nil, fmt.Errorf("batch lookup: %d of %d keys", got, n)
	}
	return sums, nil
}

func lookupSums(m *ebpf.Map, n uint32) ([]uint64, error) {
	sums := make([]uint64, n)
	var perCPU []uint64
	for key := range n {
		if err := m.Lookup(key, &perCPU); err != nil {
			return nil, fmt.Errorf("lookup %d: %w", key, err)
		}
		for _, v := range perCPU {
			sums[key] += v
		}
	}
	return sums, nil
}
