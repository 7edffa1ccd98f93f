package agent

import (
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/enrich"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/internal/sensor/file"
	"github.com/vigil-sec/vigil/internal/sensor/network"
	"github.com/vigil-sec/vigil/internal/sensor/process"
	"github.com/vigil-sec/vigil/internal/wire"
	"github.com/vigil-sec/vigil/rules"
)

// BenchmarkPipelineKinds is the agent's user-space cost of one record of
// each common kind, end to end: decoded, enriched, matched against the
// default rule pack and written as a JSON line to a file (every event,
// as with --events all). The records were captured from the kernel (the
// sensors' fuzz seeds); file_open is a read of an SSH private key, which
// the pack alerts on (throttled, as in a live storm of the same open).
func BenchmarkPipelineKinds(b *testing.B) {
	cases := []struct{ name, fuzz, seed string }{
		{"file_open", "file/testdata/fuzz/FuzzDecodeFile", "TestFileComponentRulesMatchAnywhere-file_open_ssh_key"},
		{"net_connect", "network/testdata/fuzz/FuzzDecodeNetwork", "TestConnectAcceptListenBindClose-tcp4-net_connect"},
		{"process_exec", "process/testdata/fuzz/FuzzDecodeExec", ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			raw := seedFile(b, c.fuzz, c.seed)
			exec := binary.LittleEndian.Uint16(raw) == wire.ProcessExec
			a, out := benchAgent(b)
			defer out.Close()
			const pid = 100 // the seeded process
			b.ReportAllocs()
			cpu := processCPU(b)
			i := uint64(0)
			for b.Loop() {
				i++
				binary.LittleEndian.PutUint64(raw[8:], i*1000)
				binary.LittleEndian.PutUint32(raw[16:], pid)
				binary.LittleEndian.PutUint32(raw[20:], pid)
				if exec {
					binary.LittleEndian.PutUint32(raw[32:], 1)
				}
				a.handle(raw)
			}
			endBench(b, a, cpu)
		})
	}
}

// endBench stops the clock, reports the CPU time per operation since cpu
// and checks that every record decoded and the output took everything.
func endBench(b *testing.B, a *Agent, cpu time.Duration) {
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
	if n := a.counts.malformedN.Load(); n > 0 {
		b.Fatalf("%d records did not decode", n)
	}
	if err := a.cfg.Sink.Flush(); err != nil {
		b.Fatal(err)
	}
}

// processCPU is the CPU time this process has used, all threads (the
// garbage collector's included): on a shared machine the wall time per
// operation says more about the neighbours than about the pipeline.
func processCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchAgent is an agent with the process, file and network decoders, the
// default rule pack and a JSON file sink in a temporary directory.
func benchAgent(b *testing.B) (*Agent, *os.File) {
	b.Helper()
	out, err := os.Create(filepath.Join(b.TempDir(), "events.json"))
	if err != nil {
		b.Fatal(err)
	}
	clock := func(ns uint64) time.Time { return time.Unix(0, int64(ns)) }
	a := &Agent{cfg: Config{Sink: output.NewStream(out, output.FormatJSON)}, log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	a.obs.ruleEval = metrics.NewDurationHistogram(250*time.Nanosecond, 13)
	pdec := process.NewDecoder(clock) // as the agent runs it
	a.decoders.set(wire.ProcessExec, pdec.Exec)
	a.decoders.set(wire.ProcessExit, pdec.Exit)
	a.decoders.set(wire.ProcessFork, pdec.Fork)
	fdec, ndec := file.Decoder{Clock: clock}, network.Decoder{Clock: clock}
	for k := range wire.KindCount {
		if row, ok := event.KindOfWire(k); ok && !row.Record {
			switch row.Family {
			case event.FamilyFile:
				a.decoders.set(k, fdec.Decode)
			case event.FamilyNetwork:
				a.decoders.set(k, ndec.Decode)
			}
		}
	}
	a.tree = proctree.New(proctree.DefaultConfig())
	a.enricher = enrich.New("bench-node", a.tree, container.NewResolver(64))
	a.enricher.Seed([]*event.Process{
		{PID: 1, Binary: "/usr/lib/systemd/systemd", Args: []string{"/sbin/init"}, Cwd: "/"},
		{PID: 100, PPID: 1, Binary: "/usr/bin/bash", Args: []string{"bash"}, Cwd: "/"},
	})
	src, err := rules.Sources()
	if err != nil {
		b.Fatal(err)
	}
	rs, err := rule.Compile(src)
	if err != nil {
		b.Fatal(err)
	}
	a.SetRules(rule.NewEngine(rs, rule.Config{Throttle: rule.DefaultThrottle()}))
	return a, out
}
