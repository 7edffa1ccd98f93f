package agent

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
)

func key(stage, reason string, kind event.Kind, out string) lossKey {
	return lossKey{stage: stage, reason: reason, kind: kind, output: out}
}

// TestDropsReporterDeltas: each record holds what grew since the previous
// one, by stage, reason, kind and output, largest first; the records add
// up to the counters; nothing grown, nothing written.
func TestDropsReporterDeltas(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	r := newDropsReporter("n1", 10*time.Second, start)
	ringFull := key(event.DropStageKernel, "ringbuf_full", event.KindFileOpen, "")
	mapFull := key(event.DropStageKernel, "map_full", event.KindProcessExec, "")
	queue := key(event.DropStageOutput, "queue_full", "", "siem")

	if !r.due(start) {
		t.Fatal("not due at the start: a first loss would wait")
	}
	if d := r.report(start, lossReading{}); d != nil {
		t.Fatalf("nothing lost, got %+v", d)
	}
	if r.due(start.Add(500 * time.Millisecond)) {
		t.Error("due again within a poll")
	}

	t1 := start.Add(2 * time.Second)
	d := r.report(t1, lossReading{ringFull: 100, queue: 5})
	if d == nil {
		t.Fatal("no record for 105 losses")
	}
	if d.Kind != event.KindDrops || d.Node != "n1" || !d.Since.Equal(start) || !d.Until.Equal(t1) || !d.Time.Equal(t1) {
		t.Errorf("envelope %+v", d)
	}
	want := []event.DropCount{
		{Stage: "kernel", Reason: "ringbuf_full", Kind: event.KindFileOpen, Count: 100},
		{Stage: "output", Reason: "queue_full", Output: "siem", Count: 5},
	}
	if d.Total != 105 || !equalCounts(d.Counts, want) {
		t.Errorf("total %d, counts %+v; want 105, %+v", d.Total, d.Counts, want)
	}

	// losses within the interval wait for the next record
	if r.due(t1.Add(5 * time.Second)) {
		t.Error("due 5s after a report with a 10s interval")
	}
	t2 := t1.Add(10 * time.Second)
	if !r.due(t2) {
		t.Fatal("not due an interval after the report")
	}
	d = r.report(t2, lossReading{ringFull: 150, queue: 5, mapFull: 3})
	want = []event.DropCount{
		{Stage: "kernel", Reason: "ringbuf_full", Kind: event.KindFileOpen, Count: 50},
		{Stage: "kernel", Reason: "map_full", Kind: event.KindProcessExec, Count: 3},
	}
	if d == nil || d.Total != 53 || !equalCounts(d.Counts, want) || !d.Since.Equal(t1) {
		t.Fatalf("second record %+v; want 53 since %v: %+v", d, t1, want)
	}

	// counters that did not grow make no record, and do not move the base
	t3 := t2.Add(time.Minute)
	if d := r.report(t3, lossReading{ringFull: 150, queue: 5, mapFull: 3}); d != nil {
		t.Errorf("nothing grew, got %+v", d)
	}
	t4 := t3.Add(time.Second)
	if !r.due(t4) {
		t.Error("a quiet reading must not delay the next one by an interval")
	}
	d = r.report(t4, lossReading{ringFull: 151, queue: 5, mapFull: 3})
	if d == nil || d.Total != 1 || !d.Since.Equal(t2) {
		t.Errorf("third record %+v; want 1 since %v", d, t2)
	}
}

// TestDropsReporterAddsUp: however the readings fall, the records' counts
// sum to the counters' last values, reason by reason.
func TestDropsReporterAddsUp(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	r := newDropsReporter("n1", 3*time.Second, start)
	keys := []lossKey{
		key(event.DropStageKernel, "ringbuf_full", event.KindFileOpen, ""),
		key(event.DropStageKernel, "truncated", event.KindProcessExec, ""),
		key(event.DropStagePipeline, "malformed", "", ""),
		key(event.DropStageOutput, "sink_dropped", "", "hook"),
	}
	cur := lossReading{}
	sums := map[lossKey]uint64{}
	now := start
	for i := range 200 {
		cur[keys[i%len(keys)]] += uint64(i % 7)
		now = now.Add(700 * time.Millisecond)
		if !r.due(now) {
			continue
		}
		reading := lossReading{}
		for k, v := range cur {
			reading[k] = v
		}
		if d := r.report(now, reading); d != nil {
			var total uint64
			for _, c := range d.Counts {
				sums[key(c.Stage, c.Reason, c.Kind, c.Output)] += c.Count
				total += c.Count
			}
			if total != d.Total {
				t.Errorf("record total %d, counts add up to %d", d.Total, total)
			}
		}
	}
	// the last losses, at the end (a final report ignores the interval)
	final := lossReading{}
	for k, v := range cur {
		final[k] = v
	}
	if d := r.report(now, final); d != nil {
		for _, c := range d.Counts {
			sums[key(c.Stage, c.Reason, c.Kind, c.Output)] += c.Count
		}
	}
	for _, k := range keys {
		if sums[k] != cur[k] {
			t.Errorf("%+v: records add up to %d, counter is %d", k, sums[k], cur[k])
		}
	}
}

// TestReportDrops: the agent writes the record to its sink and warns in
// the log, at most once per interval, and at the end whatever the
// interval; with records off, only the log says it.
func TestReportDrops(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	var logs bytes.Buffer
	sink := &collector{}
	a := &Agent{cfg: Config{Sink: sink}, log: slog.New(slog.NewTextHandler(&logs, nil)),
		drops: newDropsReporter("n1", time.Minute, start)}

	a.reportDrops(start.Add(time.Second), false)
	if len(sink.drops) != 0 || logs.Len() != 0 {
		t.Fatalf("nothing lost, yet %d records, log %q", len(sink.drops), logs.String())
	}
	a.counts.malformedN.Add(3)
	a.reportDrops(start.Add(2*time.Second), false)
	if len(sink.drops) != 1 || sink.drops[0].Total != 3 || sink.drops[0].Counts[0].Reason != "malformed" {
		t.Fatalf("records %+v; want one of 3 malformed", sink.drops)
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"events lost\" total=3") ||
		!strings.Contains(logs.String(), "3 lost: pipeline malformed 3") {
		t.Errorf("log %q", logs.String())
	}
	a.counts.malformedN.Add(2)
	a.reportDrops(start.Add(30*time.Second), false)
	if len(sink.drops) != 1 {
		t.Errorf("a second record within the interval: %+v", sink.drops[1:])
	}
	a.reportDrops(start.Add(31*time.Second), true)
	if len(sink.drops) != 2 || sink.drops[1].Total != 2 {
		t.Fatalf("final report: %+v; want a second record of 2", sink.drops)
	}

	logs.Reset()
	off := &collector{}
	b := &Agent{cfg: Config{Sink: off}, log: slog.New(slog.NewTextHandler(&logs, nil)),
		drops: newDropsReporter("n1", -1, start)}
	b.counts.malformedN.Add(1)
	b.reportDrops(start.Add(time.Second), false)
	if len(off.drops) != 0 || !strings.Contains(logs.String(), "events lost") {
		t.Errorf("records off: %d records, log %q; want none and a warning", len(off.drops), logs.String())
	}
	if b.drops.interval != DefaultDropsInterval {
		t.Errorf("records off: interval %v, want the default", b.drops.interval)
	}
}

func equalCounts(got, want []event.DropCount) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestDropsTimesAreUTC: as every time of the schema.
func TestDropsTimesAreUTC(t *testing.T) {
	loc := time.FixedZone("east", 3600)
	start := time.Date(2026, 12, 7, 14, 0, 0, 0, loc)
	r := newDropsReporter("n1", time.Second, start)
	d := r.report(start.Add(time.Second), lossReading{key(event.DropStagePipeline, event.DropMalformed, "", ""): 1})
	if d == nil || d.Time.Location() != time.UTC || d.Since.Location() != time.UTC || d.Until.Location() != time.UTC {
		t.Fatalf("record %+v: want UTC times", d)
	}
}

// gatedSink holds every write until its gate is closed.
type gatedSink struct {
	collector
	gate chan struct{}
}

func (g *gatedSink) Write(ev *event.Event) error {
	<-g.gate
	return g.collector.Write(ev)
}

// TestDropsReportOutputLosses: an output whose queue overflows is named in
// the record, with what its queue dropped, and the record reaches the
// other outputs through the real fan-out.
func TestDropsReportOutputLosses(t *testing.T) {
	stuck := &gatedSink{gate: make(chan struct{})}
	ok := &collector{}
	fan, err := output.NewFanout([]output.Route{
		{Name: "stuck", Sink: stuck, Filter: output.All(), Queue: 4},
		{Name: "ok", Sink: ok, Filter: output.Filter{Alerts: true}}, // takes no events
	}, output.FanoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		fan.Write(&event.Event{Kind: event.KindProcessExec, Process: &event.Process{PID: uint32(i)}})
	}
	fan.Flush()
	dropped := fan.Stats()[0].QueueDropped
	if dropped == 0 {
		t.Fatal("the stuck output dropped nothing")
	}
	start := time.Now()
	a := &Agent{cfg: Config{Sink: fan}, log: slog.New(slog.DiscardHandler), drops: newDropsReporter("n1", time.Second, start)}
	a.reportDrops(start.Add(time.Second), false)
	close(stuck.gate)
	if err := fan.Close(); err != nil {
		t.Fatal(err)
	}
	if len(ok.drops) != 1 {
		t.Fatalf("the other output got %d drops records, want 1", len(ok.drops))
	}
	want := []event.DropCount{{Stage: "output", Reason: "queue_full", Output: "stuck", Count: dropped}}
	if d := ok.drops[0]; d.Total != dropped || !equalCounts(d.Counts, want) {
		t.Errorf("record %+v; want %+v", d, want)
	}
}
