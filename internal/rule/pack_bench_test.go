package rule

import (
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// cpuTime is the process's CPU time so far (all threads, the garbage
// collector's included), in ns: on a loaded machine wall time per
// operation measures the neighbours, CPU time the code.
func cpuTime(tb testing.TB) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkPack evaluates the whole default pack, compiled from the
// repository's rules/ directory, against the corpus events of one kind
// at a time (ns/op and allocs/op are per event), with the pre-filter
// (prefilter.go) and, as the baseline in the same run, without it:
//
//	go test ./internal/rule/ -run '^$' -bench Pack -benchmem
func BenchmarkPack(b *testing.B) {
	rs, err := Compile(packSources(b))
	if err != nil {
		b.Fatal(err)
	}
	corpus := loadCorpus(b)
	for _, k := range []event.Kind{event.KindProcessExec, event.KindFileOpen, event.KindNetConnect} {
		var evs []*event.Event
		for _, ev := range corpus {
			if ev.Kind == k {
				evs = append(evs, ev)
			}
		}
		if len(evs) == 0 {
			b.Fatalf("no %s event in the corpus", k)
		}
		for _, v := range []struct {
			name string
			rs   *Ruleset
		}{{"prefilter", rs}, {"off", rs.withoutPrefilter()}} {
			b.Run(string(k)+"/"+v.name, func(b *testing.B) {
				e := NewEngine(v.rs, Config{})
				var out []*event.Alert
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cpuTime(b)
				for i := range b.N {
					out = e.Eval(evs[i%len(evs)], out[:0])
				}
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
