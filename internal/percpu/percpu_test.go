package percpu

import (
	"slices"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSumsAddsEveryCPU writes a different count on every CPU of every key
// and expects each key's total, by the batch read and by the key-by-key one.
func TestSumsAddsEveryCPU(t *testing.T) {
	testenv.RequirePrivileged(t)
	const n = 37
	m, err := ebpf.NewMap(&ebpf.MapSpec{
		Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: n,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	want := make([]uint64, n)
	for key := range uint32(n) {
		if key%3 == 0 {
			continue // left zero
		}
		perCPU := make([]uint64, cpus)
		for c := range perCPU {
			perCPU[c] = uint64(key)*1000 + uint64(c) + 1
			want[key] += perCPU[c]
		}
		if err := m.Update(key, perCPU, ebpf.UpdateAny); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Sums(m, n)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Sums = %v, want %v", got, want)
	}
	one, err := lookupSums(m, n)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one, want) {
		t.Errorf("lookupSums = %v, want %v", one, want)
	}
	if _, err := batchSums(m, n, cpus); err != nil {
		t.Errorf("batch read on this kernel (arrays have batch operations since 5.6): %v", err)
	}
	if _, err := Sums(m, n+1); err == nil {
		t.Error("Sums of more keys than the map holds: no error")
	}
}
