package rule

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
)

// TestMessageEscapedOnlyForPeople: a message filled from a hostile argv
// keeps the argv's bytes (the JSON of the alert must say exactly what the
// process ran), and the human formats escape it.
func TestMessageEscapedOnlyForPeople(t *testing.T) {
	rs := mustCompile(t, shellRule)
	arg := "\x1b]0;owned\x07\x1b[2J\rALL CLEAR\u202e"
	alerts := run(rs, Config{}, execEv(0, "/bin/sh", "-c", arg))
	if len(alerts) != 1 {
		t.Fatalf("want 1 alert, got %v", ruleNames(alerts))
	}
	al := alerts[0]
	if !strings.Contains(al.Message, arg) {
		t.Errorf("the message changed the argument: %q", al.Message)
	}
	b, err := al.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ Message string }
	if err := json.Unmarshal(b, &back); err != nil || back.Message != al.Message {
		t.Errorf("JSON message %q (%v), want %q", back.Message, err, al.Message)
	}
	for _, line := range []string{output.AlertText(al), output.Compact{}.Alert(al)} {
		if strings.ContainsAny(line, "\x1b\x07\r\u202e") {
			t.Errorf("a raw control reached a human line: %q", line)
		}
		if !strings.Contains(line, `\x1b]0;owned\a\x1b[2J\rALL CLEAR\u202e`) {
			t.Errorf("the argument is not shown escaped: %q", line)
		}
	}
}

// TestHeldMessagesAreTheirEvents: a message is rendered only for an alert
// that leaves the throttle, and then from the alert's own event, whichever
// event is being evaluated at the time (an eviction, a flush, a drain); a
// message that asks tracked_count() says the count at its match. Each
// alert's message is the one the same match gets with throttling off.
func TestHeldMessagesAreTheirEvents(t *testing.T) {
	rs := mustCompile(t, shellRule, `
- track: shells
  condition: kind == "process_exec" && process.name in shells
  key: process.parent_exec_id
  window: 1h
- rule: counted
  description: shells so far
  condition: kind == "process_exec" && tracked_count("shells", process.parent_exec_id) > 0
  severity: low
  message: "{process.args[1]} after {tracked_count('shells', process.parent_exec_id)}"
`)
	var evs []*event.Event
	for i := range 12 {
		ev := execEv(time.Duration(i)*time.Second, "/bin/sh", fmt.Sprint("arg", i))
		ev.Process.ParentExecID = fmt.Sprint("p", i%4) // four sources, two kept: evictions
		evs = append(evs, ev)
	}
	want := map[string]string{} // rule and event → message
	key := func(al *event.Alert) string { return al.Rule.Name + " " + al.Event.Process.Args[1] }
	for _, al := range run(rs, Config{Throttle: Throttle{Disabled: true}}, evs...) {
		want[key(al)] = al.Message
	}
	if len(want) != 2*len(evs) {
		t.Fatalf("%d matches without throttling, want %d", len(want), 2*len(evs))
	}
	e := NewEngine(rs, Config{Throttle: Throttle{Burst: 1, Refill: 10 * time.Second, RuleBurst: 3, RuleRefill: time.Hour, MaxKeys: 2}})
	var out []*event.Alert
	for _, ev := range evs {
		out = e.Eval(ev, out)
	}
	out = e.Flush(epoch.Add(time.Minute), out)
	out = e.Drain(out)
	for _, al := range out {
		if w := want[key(al)]; al.Message != w || w == "" {
			t.Errorf("%s (suppressed %d): message %q, want %q", key(al), al.Suppressed, al.Message, w)
		}
	}
	if n := matchesOf(out); n != uint64(len(want)) {
		t.Errorf("alerts account for %d matches, want %d", n, len(want))
	}
	if len(out) >= len(want) {
		t.Errorf("%d alerts for %d matches: nothing was held back", len(out), len(want))
	}
}
