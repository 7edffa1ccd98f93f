package rule

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// The benchmarks replay testdata/corpus.jsonl.gz (2 474 events recorded by
// `vigil record` on the development VM during a build, shell file work and
// a loopback web server under load, network events thinned) through the
// default pack, alone or with generated rules, 10, 100 and 1 000 in all.
//
//	go test ./internal/rule/ -run '^$' -bench Engine -benchmem
//
// ns/op and allocs/op are per event. The Unindexed variants turn the
// field index off (kinds only) in the same run, as the baseline the index
// is measured against; the Untracked variants leave out the runtime cost
// limit (cost tracking), as the baseline of what it costs.

func BenchmarkEngine10(b *testing.B)      { benchEngine(b, 10, true, defaultCostLimits()) }
func BenchmarkEngine100(b *testing.B)     { benchEngine(b, 100, true, defaultCostLimits()) }
func BenchmarkEngine1000(b *testing.B)    { benchEngine(b, 1000, true, defaultCostLimits()) }
func BenchmarkUnindexed100(b *testing.B)  { benchEngine(b, 100, false, defaultCostLimits()) }
func BenchmarkUnindexed1000(b *testing.B) { benchEngine(b, 1000, false, defaultCostLimits()) }
func BenchmarkUntracked100(b *testing.B)  { benchEngine(b, 100, true, untracked()) }
func BenchmarkUntracked1000(b *testing.B) { benchEngine(b, 1000, true, untracked()) }

func untracked() costLimits {
	l := defaultCostLimits()
	l.runtime = 0
	return l
}

func benchEngine(b *testing.B, rules int, indexed bool, limits costLimits) {
	events := loadCorpus(b)
	rs := benchRuleset(b, rules, limits)
	if !indexed {
		rs = rs.withoutGuards()
	}
	e := NewEngine(rs, Config{})
	var out []*event.Alert
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime(b)
	for i := range b.N {
		out = e.Eval(events[i%len(events)], out[:0])
	}
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
}

// loadCorpus reads the recorded events.
func loadCorpus(tb testing.TB) []*event.Event {
	tb.Helper()
	return loadEvents(tb, "testdata/corpus.jsonl.gz")
}

// loadEvents reads gzipped JSON lines of events.
func loadEvents(tb testing.TB, path string) []*event.Event {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	r := NewEventReader(zr, path)
	var out []*event.Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, asEnrichedToday(ev))
	}
}

// packSources reads the default pack from the repository.
func packSources(tb testing.TB) []Source {
	tb.Helper()
	srcs, err := ReadPaths([]string{"../../rules"})
	if err != nil {
		tb.Fatal(err)
	}
	return srcs
}

// benchRuleset is the default pack trimmed or grown to n enabled rules.
// Grown rules imitate what users add: a binary to watch (35%), a
// directory whose changes matter (25%), a port (20%), a domain (15%), and
// a command-line substring, which no index helps (5%).
func benchRuleset(tb testing.TB, n int, limits costLimits) *Ruleset {
	tb.Helper()
	srcs := packSources(tb)
	pack, err := Compile(srcs)
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	have := len(pack.Rules())
	if n < have {
		keep := map[int]bool{}
		for i := 0; i < n; i++ {
			keep[i*have/n] = true
		}
		for i, r := range pack.Rules() {
			if !keep[i] {
				fmt.Fprintf(&b, "- rule: %s\n  enabled: false\n", r.Name)
			}
		}
	}
	for i := 0; i < n-have; i++ {
		var cond string
		switch i % 20 {
		case 0, 1, 2, 3, 4, 5, 6:
			cond = fmt.Sprintf(`kind == "process_exec" && process.name == "tool%d" && !in_container`, i)
		case 7, 8, 9, 10, 11:
			cond = fmt.Sprintf(`file_changed && file.path.startsWith("/srv/app%d/") && process.name != "deploy"`, i)
		case 12, 13, 14, 15:
			cond = fmt.Sprintf(`kind == "net_connect" && network.dport == %d && !network.daddr.inCIDR(private_cidrs)`, 20000+i)
		case 16, 17, 18:
			cond = fmt.Sprintf(`kind == "dns_query" && dns.query.endsWith(".bad%d.example")`, i)
		default:
			cond = fmt.Sprintf(`kind == "process_exec" && process.cmdline.contains("--token-%d")`, i)
		}
		fmt.Fprintf(&b, "- rule: generated_%d\n  description: generated for the benchmark\n  condition: '%s'\n  severity: low\n  tags: [T1059]\n", i, cond)
	}
	rs, err := compile(append(srcs, Source{Name: "bench.yaml", Data: []byte(b.String())}), limits)
	if err != nil {
		tb.Fatal(err)
	}
	enabled := 0
	for _, r := range rs.Rules() {
		if r.Enabled {
			enabled++
		}
	}
	if enabled != n {
		tb.Fatalf("benchmark rule set has %d enabled rules, want %d", enabled, n)
	}
	return rs
}

// withoutGuards is rs indexed by kind only.
func (rs *Ruleset) withoutGuards() *Ruleset {
	cp := *rs
	cp.checks = nil
	for _, ch := range rs.checks {
		c := *ch
		c.guard = nil
		c.filter = nil
		cp.checks = append(cp.checks, &c)
	}
	cp.index()
	return &cp
}
