package agent

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/wire"
)

// BenchmarkPipelineShortProcess is the agent's user-space cost of one
// short-lived process, the unit of an exec storm: its fork, exec and exit
// records (captured from the kernel) decoded, enriched, matched against
// the default rule pack and written as JSON lines to a file. "all" writes
// every event (--events all); "alerts" writes only the alerts, as the
// default configuration does. Each process has a pid of its own, as in a
// storm, so the process cache turns over as it does live.
func BenchmarkPipelineShortProcess(b *testing.B) {
	for _, out := range shortProcessOutputs() {
		b.Run(out, func(b *testing.B) {
			a, recs := shortProcessAgent(b, out)
			b.ReportAllocs()
			cpu := processCPU(b)
			i := 0
			for b.Loop() {
				recs.handle(a, i)
				i++
			}
			endBench(b, a, cpu)
		})
	}
}

// BenchmarkProcessCacheMemory is what a cached process costs: the heap
// still in use, after a collection, once b.N short-lived processes went
// through the whole pipeline (fork, exec, exit; the exited ones wait out
// their grace period in the cache, as in a storm), divided by the number
// the cache holds. Run it with -benchtime Nx, N at most the cache's cap
// (65 536): e.g. -benchtime 20000x. "all" writes every event, so every
// process's JSON is built and kept; "alerts" is the default output.
func BenchmarkProcessCacheMemory(b *testing.B) {
	for _, out := range shortProcessOutputs() {
		b.Run(out, func(b *testing.B) {
			a, recs := shortProcessAgent(b, out)
			recs.handle(a, -1) // the first evaluations' one-off allocations
			before := a.tree.Stats().Entries
			heap := liveHeap()
			i := 0
			for b.Loop() {
				recs.handle(a, i)
				i++
			}
			b.StopTimer()
			grown := liveHeap() - heap
			cached := a.tree.Stats().Entries - before
			if cached <= 0 {
				b.Fatalf("the cache holds %d processes more, want %d", cached, b.N)
			}
			b.ReportMetric(float64(grown)/float64(cached), "B/process")
			b.ReportMetric(float64(cached), "cached")
			runtime.KeepAlive(a)
		})
	}
}

// shortProcessOutputs: "all" writes every event (--events all), "alerts"
// only the alerts, as the default configuration does.
func shortProcessOutputs() []string { return []string{"all", "alerts"} }

// shortProcessAgent is benchAgent with the given output and the records
// of a short process.
func shortProcessAgent(b *testing.B, out string) (*Agent, shortRecords) {
	a, f := benchAgent(b)
	b.Cleanup(func() { f.Close() })
	if out == "alerts" {
		a.cfg.Sink = alertsOnly{a.cfg.Sink}
	}
	return a, shortProcessRecords(b)
}

// liveHeap is the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// shortRecords are a short process's fork, exec and exit records.
type shortRecords struct{ fork, exec, exit []byte }

// shortProcessRecords are the records TestExecRecord captured of one
// `/bin/sh -c "exit 3" MARKER`; no rule of the pack alerts on them.
func shortProcessRecords(b *testing.B) shortRecords {
	const dir = "process/testdata/fuzz/"
	return shortRecords{
		seedFile(b, dir+"FuzzDecodeFork", "TestExecRecord-64"),
		seedFile(b, dir+"FuzzDecodeExec", "TestExecRecord-274"),
		seedFile(b, dir+"FuzzDecodeExit", "TestExecRecord-48"),
	}
}

// handle passes the i-th process's three records: a pid of its own (1 000
// and up, under the 4 million pid_max allows), started by the seeded bash
// (pid 100), a microsecond after the one before.
func (r shortRecords) handle(a *Agent, i int) {
	const parent = 100
	pid := uint32(1000 + (i+1)%4_000_000)
	ktime := uint64(i+2) * 1000
	for _, raw := range [][]byte{r.fork, r.exec, r.exit} {
		binary.LittleEndian.PutUint64(raw[8:], ktime)
		binary.LittleEndian.PutUint32(raw[16:], pid)
		binary.LittleEndian.PutUint32(raw[20:], pid)
		switch binary.LittleEndian.Uint16(raw) {
		case wire.ProcessFork, wire.ProcessExec:
			binary.LittleEndian.PutUint32(raw[32:], parent) // ppid follows the header
		}
		a.handle(raw)
	}
}

// alertsOnly is a sink that takes the alerts and drops the events, as an
// output with the default filter (--events alerts) does.
type alertsOnly struct{ output.Sink }

func (alertsOnly) Write(*event.Event) error { return nil }
