package intel

import (
	"path/filepath"
	"runtime"
	"testing"
)

// TestMemoryEstimate loads 20,000 synthetic IOCs of each source shape
// and holds SourceStatus.Bytes to the heap they take after GC: within a
// factor of two either way (docs/benchmarks.md has the numbers at 1 M).
func TestMemoryEstimate(t *testing.T) {
	const n = 20_000
	for _, kind := range []SourceKind{KindMISPFeed, KindList} {
		t.Run(string(kind), func(t *testing.T) {
			dir := t.TempDir()
			loc := dir
			if kind == KindList {
				loc = filepath.Join(dir, "vh14f-list.txt")
				writeSynthList(t, loc, n)
			} else {
				writeSynthFeed(t, dir, n)
			}
			base := heapInUse()
			m := newTestManager(t, Options{}, SourceConfig{Name: "s", Kind: kind, URL: loc, Column: -1})
			mustRefresh(t, m, "s")
			heap := float64(heapInUse()) - float64(base)
			est := float64(statusOf(t, m, "s").Bytes)
			runtime.KeepAlive(m)
			t.Logf("%s: %d indicators, heap %.0f B/IOC, estimate %.0f B/IOC", kind, m.Current().Len(), heap/n, est/n)
			if est < heap/2 || est > heap*2 {
				t.Errorf("estimate %.0f bytes, heap %.0f: more than a factor of two apart", est, heap)
			}
		})
	}
}
