package syslog

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestDropsRecordIsAWarning: a drops record goes out with severity
// warning, MSGID drops, and the record as its body.
func TestDropsRecordIsAWarning(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := Open(Options{Address: "udp://" + pc.LocalAddr().String(), Facility: 16, Hostname: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 13, 0, 10, 0, time.UTC)
	d := &event.Drops{Time: now, Kind: event.KindDrops, Node: "node-a", Since: now.Add(-10 * time.Second), Until: now,
		Total: 5, Counts: []event.DropCount{{Stage: "pipeline", Reason: "malformed", Count: 5}}}
	if err := s.WriteDrops(d); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m := parse(t, readDatagrams(t, pc, 1)[0])
	if m.severity != sevWarning || m.msgID != "drops" || !m.time.Equal(now) {
		t.Errorf("header %+v; want severity %d, msgid drops, time %v", m, sevWarning, now)
	}
	var got event.Drops
	if err := json.Unmarshal([]byte(m.msg), &got); err != nil || got.Total != 5 || got.Counts[0].Reason != "malformed" {
		t.Errorf("body %q: %v", m.msg, err)
	}
}
