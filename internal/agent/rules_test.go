package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// alertSink records events and alerts in the order the pipeline wrote them.
type alertSink struct {
	mu     sync.Mutex
	order  []string // "event:<kind>" or "alert:<rule>", for ordering checks
	alerts []*event.Alert
}

func (s *alertSink) Write(ev *event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.Kind == event.KindProcessExec {
		s.order = append(s.order, fmt.Sprintf("event:%s", ev.Process.ExecID))
	}
	return nil
}

func (s *alertSink) WriteAlert(al *event.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts = append(s.alerts, al)
	s.order = append(s.order, fmt.Sprintf("alert:%s", al.Event.Process.ExecID))
	return nil
}
func (s *alertSink) WriteDrops(*event.Drops) error { return nil }
func (s *alertSink) Flush() error                  { return nil }
func (s *alertSink) Close() error                  { return nil }

func (s *alertSink) find(rule, marker string) []*event.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*event.Alert
	for _, a := range s.alerts {
		if a.Rule.Name == rule && slices.Contains(a.Event.Process.Args, marker) {
			out = append(out, a)
		}
	}
	return out
}

// waitAlerts waits for n alerts of rule about processes carrying marker.
func (s *alertSink) waitAlerts(t *testing.T, rule, marker string, n int) []*event.Alert {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		if got := s.find(rule, marker); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s alerts for %s within %v, want %d", len(s.find(rule, marker)), rule, marker, waitLimit, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startWithRules runs an agent in this process with rules and a sink that
// keeps alerts; it stops when the test ends.
func startWithRules(t *testing.T, rules *rule.Engine) (*Agent, *alertSink) {
	t.Helper()
	testenv.RequirePrivileged(t)
	sink := &alertSink{}
	a, err := New(Config{Ring: ring.DefaultConfig(), ProcTree: proctree.DefaultConfig(), Rules: rules, Sink: sink,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("start agent: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent run: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("agent close: %v", err)
		}
	})
	return a, sink
}

func engineFor(t *testing.T, yaml string, th rule.Throttle) *rule.Engine {
	t.Helper()
	rs, err := rule.Compile([]rule.Source{{Name: "test.yaml", Data: []byte(yaml)}})
	if err != nil {
		t.Fatal(err)
	}
	return rule.NewEngine(rs, rule.Config{Throttle: th})
}

func markerRule(name, m string) string {
	return fmt.Sprintf(`
- rule: %s
  description: a process with the test's marker ran
  condition: kind == "process_exec" && process.args.exists(a, a == %q)
  severity: high
  tags: [T1059]
  message: "{process.binary} ran with marker, parent {parent.binary}"
`, name, m)
}

// TestRuleStageAlertsOnRealExec: a real process matching a rule produces
// an alert with the full event, written after the event itself.
func TestRuleStageAlertsOnRealExec(t *testing.T) {
	m := marker(t)
	a, sink := startWithRules(t, nil)
	a.SetRules(engineFor(t, markerRule("marked", m), rule.DefaultThrottle()))
	if err := exec.Command("/bin/sh", "-c", "true", m).Run(); err != nil {
		t.Fatal(err)
	}
	al := sink.waitAlerts(t, "marked", m, 1)[0]
	if al.Kind != event.KindAlert || al.Rule.Severity != event.SeverityHigh || al.Action != event.ActionAlert ||
		al.Event.Kind != event.KindProcessExec || al.Message == "" {
		t.Errorf("alert %+v", al)
	}
	sink.mu.Lock()
	order := slices.Clone(sink.order)
	sink.mu.Unlock()
	ev := slices.Index(order, "event:"+al.Event.Process.ExecID)
	at := slices.Index(order, "alert:"+al.Event.Process.ExecID)
	if ev < 0 || at < ev {
		t.Errorf("event written at %d, alert at %d: want the event first", ev, at)
	}
}

// TestRuleSwapDrainsHeldAlerts: replacing the rules while running writes
// what the old engine held back, then the new rules apply.
func TestRuleSwapDrainsHeldAlerts(t *testing.T) {
	m := marker(t)
	old := engineFor(t, markerRule("old", m), rule.Throttle{Burst: 1, Refill: time.Hour})
	a, sink := startWithRules(t, old)
	// three matches of one source: children of one shell, whose exec the
	// agent saw just before (the test binary, their parent otherwise, is
	// the agent itself: known only from the start-up snapshot)
	three := fmt.Sprintf("/bin/sh -c true %[1]s; /bin/sh -c true %[1]s; /bin/sh -c true %[1]s", m)
	if err := exec.Command("/bin/sh", "-c", three).Run(); err != nil {
		t.Fatal(err)
	}
	sink.waitAlerts(t, "old", m, 1)
	a.SetRules(engineFor(t, markerRule("new", m), rule.DefaultThrottle()))
	if err := exec.Command("/bin/sh", "-c", "true", m).Run(); err != nil {
		t.Fatal(err)
	}
	sink.waitAlerts(t, "new", m, 1)
	olds := sink.waitAlerts(t, "old", m, 2)
	if len(olds) != 2 || olds[0].Suppressed != 0 || olds[1].Suppressed != 1 {
		t.Errorf("old rule: %d alerts, want the first and the held one standing for 2", len(olds))
	}
	if st := a.RuleStats(); st.Alerts < 3 || st.Suppressed < 1 {
		t.Errorf("rule stats %+v", st)
	}
}
