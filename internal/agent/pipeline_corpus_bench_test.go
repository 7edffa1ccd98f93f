package agent

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/rule"
)

// BenchmarkPipelineCorpus is the agent's cost per event after decoding
// (enrichment, the default rule pack, a JSON line to a file for every
// event) over the recorded corpus of internal/rule/testdata (2 474 events
// of a development VM: builds, shells, a web server, tests). Each pass
// works on copies, since enrichment fills the events in.
func BenchmarkPipelineCorpus(b *testing.B) {
	corpus := loadAgentCorpus(b)
	a, out := benchAgent(b)
	defer out.Close()
	b.ReportAllocs()
	cpu := processCPU(b)
	i := 0
	for b.Loop() {
		ev := *corpus[i%len(corpus)]
		if ev.Process != nil {
			ev.Process = ev.Process.Clone()
		}
		a.pass(&ev)
		i++
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
	if err := a.cfg.Sink.Flush(); err != nil {
		b.Fatal(err)
	}
}

func loadAgentCorpus(b *testing.B) []*event.Event {
	const path = "../rule/testdata/corpus.jsonl.gz"
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	r := rule.NewEventReader(zr, path)
	var evs []*event.Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return evs
		}
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, ev)
	}
}
