package intel

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// listOf writes a list of n domains named prefix-i.example and n
// addresses of the 10.<k>.0.0/16 network.
func listOf(prefix string, k, n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%s-%d.example\n10.%d.%d.%d\n", prefix, i, k, i/256, i%256)
	}
	return []byte(b.String())
}

// TestConcurrentReadersDuringSwaps: readers on other goroutines look up
// while the list flips between two contents; every set they see holds
// exactly one of them, whole (run with -race).
func TestConcurrentReadersDuringSwaps(t *testing.T) {
	const n = 200
	path := filepath.Join(t.TempDir(), "vh14f-flip.txt")
	contents := [][]byte{listOf("a", 1, n), listOf("b", 2, n)}
	if err := os.WriteFile(path, contents[0], 0o600); err != nil {
		t.Fatal(err)
	}
	m := newTestManager(t, Options{}, SourceConfig{Name: "flip", Kind: KindList, URL: path, Column: -1})
	mustRefresh(t, m, "flip")
	var seen atomic.Int64
	m.Subscribe(func(*Set) { seen.Add(1) })

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Int64
	for r := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s := m.Current()
				j := (i + r) % n
				a := len(s.Domain(fmt.Sprintf("a-%d.example", j))) + len(s.IP(netip.AddrFrom4([4]byte{10, 1, byte(j / 256), byte(j % 256)}), 0))
				b := len(s.Domain(fmt.Sprintf("x.b-%d.example", j))) + len(s.IP(netip.AddrFrom4([4]byte{10, 2, byte(j / 256), byte(j % 256)}), 0))
				count := 0
				s.Each(TypeDomain, func(*Indicator) bool { count++; return true })
				if !(a == 2 && b == 0 || a == 0 && b == 2) || s.Len() != 2*n || count != n {
					bad.Add(1)
				}
			}
		})
	}
	for i := 1; i <= 20; i++ {
		if err := os.WriteFile(path, contents[i%2], 0o600); err != nil {
			t.Fatal(err)
		}
		ts := time.Now().Add(time.Duration(i) * time.Second)
		if err := os.Chtimes(path, ts, ts); err != nil {
			t.Fatal(err)
		}
		mustRefresh(t, m, "flip")
	}
	close(stop)
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d lookups saw a set that was neither the old nor the new", bad.Load())
	}
	if seen.Load() != 20 {
		t.Errorf("%d swaps, want 20", seen.Load())
	}
}

// TestEachOrderAndRelease: Each is in a stable order whatever the file's
// order, and a refresh that shrinks the list shrinks the memory reported.
func TestEachOrderAndRelease(t *testing.T) {
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "vh14f-1.txt"), filepath.Join(dir, "vh14f-2.txt")
	if err := os.WriteFile(p1, []byte("c.example\na.example\nb.example\n10.0.0.2\n10.0.0.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p2, []byte("b.example\n10.0.0.1\nc.example\na.example\n10.0.0.2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	order := func(path string) string {
		m := newTestManager(t, Options{}, SourceConfig{Name: "x", Kind: KindList, URL: path, Column: -1})
		mustRefresh(t, m, "x")
		var out []string
		for _, typ := range []Type{TypeDomain, TypeIP} {
			m.Current().Each(typ, func(i *Indicator) bool { out = append(out, i.Value); return true })
		}
		return strings.Join(out, " ")
	}
	if a, b := order(p1), order(p2); a != b || a != "a.example b.example c.example 10.0.0.1 10.0.0.2" {
		t.Errorf("Each: %q and %q", a, b)
	}

	big := filepath.Join(dir, "vh14f-big.txt")
	if err := os.WriteFile(big, listOf("r", 3, 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	m := newTestManager(t, Options{}, SourceConfig{Name: "r", Kind: KindList, URL: big, Column: -1})
	mustRefresh(t, m, "r")
	before := statusOf(t, m, "r").Bytes
	if err := os.WriteFile(big, listOf("r", 3, 50), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := time.Now().Add(time.Minute)
	if err := os.Chtimes(big, ts, ts); err != nil {
		t.Fatal(err)
	}
	mustRefresh(t, m, "r")
	after := statusOf(t, m, "r").Bytes
	if m.Current().Len() != 100 || after*50 > before {
		t.Errorf("after shrinking 100 times: %d indicators, %d bytes (was %d)", m.Current().Len(), after, before)
	}
}

// TestMetrics scrapes the intel collector through a registry.
func TestMetrics(t *testing.T) {
	fs := newFileServer(t)
	fs.putFeed(feedEvents()...)
	reg := prometheus.NewRegistry()
	now := time.Unix(1800000000, 0)
	clock := func() time.Time { return now }
	m := newTestManager(t, Options{Registerer: reg, Now: clock},
		SourceConfig{Name: "feed", Kind: KindMISPFeed, URL: fs.srv.URL + "/feed"},
		SourceConfig{Name: "gone", Kind: KindList, URL: fs.srv.URL + "/missing.txt", Column: -1})
	mustRefresh(t, m, "feed")
	mustRefresh(t, m, "feed")
	_ = m.Refresh(context.Background(), "gone")
	now = now.Add(90 * time.Second)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if MetricFamilies()[f.GetName()] != f.GetType() {
			t.Errorf("%s: type %v not declared", f.GetName(), f.GetType())
		}
		for _, mt := range f.GetMetric() {
			got[f.GetName()+labels(mt)] = mt.GetGauge().GetValue() + mt.GetCounter().GetValue()
		}
	}
	for k, want := range map[string]float64{
		`vigil_intel_indicators{source="feed",type="sha256"}`:             1,
		`vigil_intel_indicators{source="feed",type="ip"}`:                 4,
		`vigil_intel_refreshes_total{result="updated",source="feed"}`:     1,
		`vigil_intel_refreshes_total{result="unchanged",source="feed"}`:   1,
		`vigil_intel_refreshes_total{result="http_status",source="gone"}`: 1,
		`vigil_intel_age_seconds{source="feed"}`:                          90,
		`vigil_intel_age_seconds{source="gone"}`:                          90,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if got[`vigil_intel_memory_bytes{source="feed"}`] <= 0 {
		t.Errorf("memory not reported: %v", got)
	}
}

// labels renders a sample's labels as Prometheus does (sorted by name).
func labels(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestRun refreshes each source on its interval until the context ends.
func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vh14f-run.txt")
	if err := os.WriteFile(path, []byte("run.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := newTestManager(t, Options{}, SourceConfig{Name: "run", Kind: KindList, URL: path, Column: -1, Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for statusOf(t, m, "run").Refreshes < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if st := statusOf(t, m, "run"); st.Refreshes < 3 || st.Unchanged < 2 || len(m.Current().Domain("run.example")) != 1 {
		t.Errorf("after running: %+v", st)
	}
}
