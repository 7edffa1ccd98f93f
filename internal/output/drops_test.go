package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

func sampleDrops() *event.Drops {
	since := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)
	until := since.Add(10 * time.Second)
	return &event.Drops{Time: until, Kind: event.KindDrops, Node: "n1", Since: since, Until: until, Total: 1234,
		Counts: []event.DropCount{
			{Stage: "kernel", Reason: "ringbuf_full", Kind: event.KindFileOpen, Count: 1200},
			{Stage: "output", Reason: "queue_full", Output: "siem\x1b[2J", Count: 34},
		}}
}

// TestDropsReachEveryOutput: a drops record goes to every output, whatever
// its filter passes, and to no output nobody listens to.
func TestDropsReachEveryOutput(t *testing.T) {
	all, alertsOnly, execOnly := &recorder{}, &recorder{}, &recorder{}
	f, err := NewFanout([]Route{
		{Name: "all", Sink: all, Filter: All()},
		{Name: "alerts", Sink: alertsOnly, Filter: Filter{Alerts: true, MinSeverity: event.SeverityCritical}},
		{Name: "exec", Sink: execOnly, Filter: Filter{Events: true, Kinds: []event.Kind{event.KindProcessExec}}},
		{Name: "nobody", Sink: &deaf{}, Filter: All()},
	}, FanoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := sampleDrops()
	if err := f.WriteDrops(d); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*recorder{"all": all, "alerts": alertsOnly, "exec": execOnly} {
		if len(r.drops) != 1 || r.drops[0] != d {
			t.Errorf("%s got %d drops records, want 1", name, len(r.drops))
		}
	}
	for _, st := range f.Stats() {
		if want := uint64(1); st.Name != "nobody" && st.Written != want {
			t.Errorf("%s: written %d, want %d", st.Name, st.Written, want)
		}
	}
}

// deaf is an output with no listener (a live stream nobody reads).
type deaf struct{ discard }

func (deaf) Listening() bool { return false }

// TestDropsLines: JSON is the documented shape; text and compact lines say
// the period and the counts, escaped.
func TestDropsLines(t *testing.T) {
	d := sampleDrops()
	line, err := NewEncoder(FormatJSON).Drops(d)
	if err != nil {
		t.Fatal(err)
	}
	var back event.Drops
	if err := json.Unmarshal(line, &back); err != nil || back.Total != 1234 || len(back.Counts) != 2 || back.Kind != "drops" {
		t.Fatalf("JSON %s: %v, %+v", line, err, back)
	}
	if !bytes.Contains(line, []byte(`"since":"2026-12-07T13:00:00Z","until":"2026-12-07T13:00:10Z"`)) {
		t.Errorf("JSON %s: no since/until", line)
	}
	text, err := NewEncoder(FormatText).Drops(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{string(text), Compact{}.Drops(d)} {
		if !strings.Contains(s, "1234 lost in 10s: kernel ringbuf_full file_open 1200, output queue_full siem") {
			t.Errorf("line %q", s)
		}
		if strings.Contains(s, "\x1b") {
			t.Errorf("line %q: an output name reached the terminal unescaped", s)
		}
	}
	if !strings.Contains(string(text), " DROPS ") {
		t.Errorf("text line %q", text)
	}
}
