package agent

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/enrich"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/sensor/process"
	"github.com/vigil-sec/vigil/internal/wire"
)

// BenchmarkPipelinePerExec is the agent's user-space cost of one short
// process: its fork, exec and exit records decoded, enriched and written as
// JSON lines, from records captured from the kernel. No privileges needed.
func BenchmarkPipelinePerExec(b *testing.B) {
	fork, exec, exit := seedRecord(b, "FuzzDecodeFork"), seedRecord(b, "FuzzDecodeExec"), seedRecord(b, "FuzzDecodeExit")
	clock := func(ns uint64) time.Time { return time.Unix(0, int64(ns)) }
	a := &Agent{
		cfg: Config{Sink: output.NewStream(io.Discard, output.FormatJSON)},
		log: nil,
	}
	dec := process.NewDecoder(clock)
	a.decoders.set(wire.ProcessExec, dec.Exec)
	a.decoders.set(wire.ProcessExit, dec.Exit)
	a.decoders.set(wire.ProcessFork, dec.Fork)
	a.tree = proctree.New(proctree.DefaultConfig())
	a.enricher = enrich.New("bench-node", a.tree, container.NewResolver(64))
	const parent = 100
	a.enricher.Seed([]*event.Process{{PID: parent, Binary: "/usr/bin/bash", Args: []string{"bash"}, Cwd: "/"}})

	b.ReportAllocs()
	i := 0
	for b.Loop() {
		pid := uint32(1000 + i%30000)
		ktime := uint64(i+1) * 1000
		for _, raw := range [][]byte{fork, exec, exit} {
			binary.LittleEndian.PutUint64(raw[8:], ktime)
			binary.LittleEndian.PutUint32(raw[16:], pid)
			binary.LittleEndian.PutUint32(raw[20:], pid)
			if binary.LittleEndian.Uint16(raw) != wire.ProcessExit {
				binary.LittleEndian.PutUint32(raw[32:], parent) // ppid follows the header
			}
			a.handle(raw)
		}
		i++
	}
	if n := a.counts.malformedN.Load(); n > 0 {
		b.Fatalf("%d records did not decode", n)
	}
}

// seedRecord reads the first real record of a process fuzz corpus.
func seedRecord(b *testing.B, fuzzName string) []byte {
	b.Helper()
	return seedFile(b, filepath.Join("process", "testdata", "fuzz", fuzzName), "")
}

// seedFile reads the record of a sensor's fuzz seed: the one named, or
// the first captured from the kernel (not found by the fuzzer). dir is
// below internal/sensor.
func seedFile(b *testing.B, dir, name string) []byte {
	b.Helper()
	dir = filepath.Join("..", "sensor", dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		if name != "" && e.Name() != name || !strings.HasPrefix(e.Name(), "Test") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if lit, ok := strings.CutPrefix(sc.Text(), "[]byte("); ok {
				raw, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
				if err != nil {
					b.Fatal(err)
				}
				return []byte(raw)
			}
		}
	}
	b.Fatalf("no captured record in %s", dir)
	return nil
}
