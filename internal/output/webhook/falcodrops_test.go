package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

func testDrops() *event.Drops {
	since := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)
	return &event.Drops{Time: since.Add(10 * time.Second), Kind: event.KindDrops, Node: "node-7",
		Since: since, Until: since.Add(10 * time.Second), Total: 1234, Counts: []event.DropCount{
			{Stage: "kernel", Reason: "ringbuf_full", Kind: event.KindFileOpen, Count: 1200},
			{Stage: "output", Reason: "queue_full", Output: "siem", Count: 34},
		}}
}

// TestFalcoDropsNotice: over the falco payload, a drops record is a
// notice falcosidekick takes (its fields, a known priority, a rule, a
// time, output and output_fields), with n_drops and one field per count.
func TestFalcoDropsNotice(t *testing.T) {
	rc := newReceiver(t, false, func(int64, *http.Request) int { return http.StatusOK })
	s, err := New(Options{URL: rc.srv.URL, Payload: PayloadFalco})
	if err != nil {
		t.Fatal(err)
	}
	d := testDrops()
	if err := s.WriteDrops(d); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(rc.bodies) != 1 {
		t.Fatalf("%d requests, want 1", len(rc.bodies))
	}
	body := rc.bodies[0]
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for k := range raw {
		if !slices.Contains(sidekickFields, k) {
			t.Errorf("field %q is not one falcosidekick reads", k)
		}
	}
	var p struct {
		Output       string         `json:"output"`
		Priority     string         `json:"priority"`
		Rule         string         `json:"rule"`
		Time         time.Time      `json:"time"`
		OutputFields map[string]any `json:"output_fields"`
		Hostname     string         `json:"hostname"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.Priority != "Warning" || p.Rule != FalcoDropsRule || !p.Time.Equal(d.Time) || p.Hostname != "node-7" {
		t.Errorf("envelope %+v", p)
	}
	if !strings.Contains(p.Output, "1234 lost: kernel ringbuf_full file_open 1200, output queue_full siem 34") {
		t.Errorf("output %q", p.Output)
	}
	for k, want := range map[string]string{
		"n_drops": "1234", "vigil.drops.kernel.ringbuf_full.file_open": "1200", "vigil.drops.output.queue_full.siem": "34",
	} {
		if got, ok := p.OutputFields[k].(json.Number); !ok || got.String() != want {
			t.Errorf("output_fields[%q] = %v, want %s", k, p.OutputFields[k], want)
		}
	}
	if p.OutputFields["vigil.kind"] != "drops" {
		t.Errorf("vigil.kind = %v", p.OutputFields["vigil.kind"])
	}
}

// TestVigilPayloadCarriesDrops: the vigil payload posts the record as
// docs/events.md has it, beside events.
func TestVigilPayloadCarriesDrops(t *testing.T) {
	rc := newReceiver(t, false, func(int64, *http.Request) int { return http.StatusOK })
	s, err := New(Options{URL: rc.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteDrops(testDrops()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var items []event.Drops
	if len(rc.bodies) != 1 || json.Unmarshal(rc.bodies[0], &items) != nil || len(items) != 1 ||
		items[0].Kind != event.KindDrops || items[0].Total != 1234 {
		t.Fatalf("bodies %q", rc.bodies)
	}
}
