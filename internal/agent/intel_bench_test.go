package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/enforce"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/policy"
)

// BenchmarkIntelPlan measures what a set of n sha256 and n IPv4
// indicators costs the agent on each swap: the generated policies and the
// enforce stage's plan of them (the kernel writes are netguard's, measured
// by bench/netdeny -hosts). It reports the plan's heap.
func BenchmarkIntelPlan(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			set, srcs := listSet(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			var heap uint64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				ps := intelPolicies(set, config.Intel{}, srcs)
				pl, err := enforce.NewPlan(ps, map[string]int{ps[0].Name: 0}, nil)
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap = after.HeapAlloc - before.HeapAlloc
				runtime.KeepAlive(pl)
			}
			b.ReportMetric(float64(heap)/float64(2*n), "plan-bytes/ioc")
		})
	}
}

// listSet loads n sha256 digests and n addresses through a real list
// source.
func listSet(b *testing.B, n int) (*intel.Set, []intel.SourceConfig) {
	var sb strings.Builder
	for i := range n {
		s := sha256.Sum256([]byte(fmt.Sprint(i)))
		fmt.Fprintf(&sb, "%s\n10.%d.%d.%d\n", hex.EncodeToString(s[:]), i>>16&255, i>>8&255, i&255)
	}
	path := filepath.Join(b.TempDir(), "iocs.txt")
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	srcs := []intel.SourceConfig{{Name: "bench", Kind: intel.KindList, URL: path, Mode: policy.Enforce,
		Severity: event.SeverityHigh, Column: -1, Source: "bench"}}
	m, err := intel.NewManager(srcs, intel.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Refresh(context.Background(), ""); err != nil {
		b.Fatal(err)
	}
	if got := m.Current().Len(); got != 2*n {
		b.Fatalf("%d indicators loaded, want %d", got, 2*n)
	}
	return m.Current(), srcs
}
