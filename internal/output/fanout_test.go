package output

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// recorder is a sink that keeps what it gets; gate, when set, holds every
// write until it is closed.
type recorder struct {
	mu     sync.Mutex
	events []*event.Event
	alerts []*event.Alert
	drops  []*event.Drops
	gate   chan struct{}
	fail   error
	closed bool
}

func (r *recorder) Write(ev *event.Event) error {
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) WriteAlert(al *event.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, al)
	return nil
}
func (r *recorder) WriteDrops(d *event.Drops) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drops = append(r.drops, d)
	return nil
}
func (r *recorder) Flush() error { return nil }
func (r *recorder) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

func (r *recorder) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events), len(r.alerts)
}

func exec(i int) *event.Event {
	return &event.Event{Kind: event.KindProcessExec, Process: &event.Process{PID: uint32(i)}}
}

// TestSlowOutputDropsInsteadOfBlocking: one output is stuck; writes keep
// returning, its overflow is counted, and the other output gets all.
func TestSlowOutputDropsInsteadOfBlocking(t *testing.T) {
	stuck := &recorder{gate: make(chan struct{})}
	fast := &recorder{}
	f, err := NewFanout([]Route{
		{Name: "stuck", Sink: stuck, Filter: All(), Queue: 16},
		{Name: "fast", Sink: fast, Filter: All(), Queue: 20000},
	}, FanoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10000
	for i := range n {
		if err := f.Write(exec(i)); err != nil {
			t.Fatal(err)
		}
	}
	f.Flush()
	// every Write returned while "stuck" was held on its first event: at
	// most one batch in its hands, one queued and one pending got through
	st := f.Stats()
	if st[0].QueueDropped < n-3*16 {
		t.Errorf("stuck output dropped %d, want at least %d", st[0].QueueDropped, n-3*16)
	}
	close(stuck.gate)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st = f.Stats()
	if got, _ := fast.counts(); got != n || st[1].QueueDropped != 0 {
		t.Errorf("fast output got %d of %d, dropped %d", got, n, st[1].QueueDropped)
	}
	got, _ := stuck.counts()
	if uint64(got)+st[0].QueueDropped != n || st[0].Written != uint64(got) {
		t.Errorf("stuck output: %d written + %d dropped != %d", got, st[0].QueueDropped, n)
	}
	if !stuck.closed || !fast.closed {
		t.Error("sinks not closed")
	}
}

func TestFilters(t *testing.T) {
	all, alertsHigh, execOnly, shellRules := &recorder{}, &recorder{}, &recorder{}, &recorder{}
	f, err := NewFanout([]Route{
		{Name: "all", Sink: all, Filter: All()},
		{Name: "high", Sink: alertsHigh, Filter: Filter{Alerts: true, MinSeverity: event.SeverityHigh}},
		{Name: "exec", Sink: execOnly, Filter: Filter{Events: true, Alerts: true, Kinds: []event.Kind{event.KindProcessExec}}},
		{Name: "shell", Sink: shellRules, Filter: Filter{Alerts: true, Rules: []string{"shell_*", "exact"}}},
	}, FanoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	exit := &event.Event{Kind: event.KindProcessExit}
	f.Write(exec(1))
	f.Write(exit)
	for _, a := range []struct {
		rule string
		sev  event.Severity
		ev   *event.Event
	}{
		{"shell_in_container", event.SeverityCritical, exec(1)},
		{"exact", event.SeverityLow, exit},
		{"other", event.SeverityHigh, exit},
		{"shell_x", event.SeverityMedium, exec(2)},
	} {
		f.WriteAlert(&event.Alert{Kind: event.KindAlert, Rule: event.RuleRef{Name: a.rule, Severity: a.sev}, Event: a.ev})
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name           string
		r              *recorder
		events, alerts int
	}{
		{"all", all, 2, 4},
		{"high", alertsHigh, 0, 2},
		{"exec", execOnly, 1, 2},
		{"shell", shellRules, 0, 3},
	} {
		if e, a := c.r.counts(); e != c.events || a != c.alerts {
			t.Errorf("%s: %d events, %d alerts; want %d, %d", c.name, e, a, c.events, c.alerts)
		}
	}
	counts := f.Alerts()
	var total uint64
	for _, c := range counts {
		total += c.Count
	}
	if total != 4 || len(counts) != 4 {
		t.Errorf("alert counts %+v", counts)
	}
}

// TestHealthFollowsErrors: a failing sink is unhealthy with its error; it
// recovers on the next good write.
func TestHealthFollowsErrors(t *testing.T) {
	r := &recorder{fail: errors.New("disk full")}
	f, err := NewFanout([]Route{{Name: "r", Sink: r, Filter: All()}}, FanoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(exec(1))
	f.Flush()
	st := waitStats(t, f, func(s RouteStats) bool { return s.Errors == 1 })
	if st.Healthy || st.LastError != "disk full" || st.SinkDropped != 1 {
		t.Errorf("after a failure: %+v: want unhealthy, the error, the event counted as lost", st)
	}
	r.mu.Lock()
	r.fail = nil
	r.mu.Unlock()
	time.Sleep(time.Millisecond) // the success must be later than the error
	f.Write(exec(2))
	f.Flush()
	st = waitStats(t, f, func(s RouteStats) bool { return s.Written == 1 && s.Healthy })
	if st.LastError != "disk full" {
		t.Errorf("last error forgotten: %+v", st)
	}
}

func TestRouteNamesAreUnique(t *testing.T) {
	r := &recorder{}
	_, err := NewFanout([]Route{{Name: "a", Sink: r, Filter: All()}, {Name: "a", Sink: r, Filter: All()}}, FanoutOptions{})
	if err == nil {
		t.Fatal("two outputs named a accepted")
	}
}

func TestFilterValidate(t *testing.T) {
	for _, f := range []Filter{
		{},
		{Alerts: true, Rules: []string{"[bad"}},
		{Alerts: true, MinSeverity: "urgent"},
	} {
		if err := f.Validate(); err == nil {
			t.Errorf("%+v accepted", f)
		}
	}
	if sev, err := ParseSeverity("HIGH"); err != nil || sev != event.SeverityHigh {
		t.Errorf("ParseSeverity(HIGH) = %q, %v", sev, err)
	}
}

func waitStats(t *testing.T, f *Fanout, ok func(RouteStats) bool) RouteStats {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		st := f.Stats()[0]
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never got there: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkPipelineSide is what the pipeline goroutine pays per event:
// writing JSON to stdout itself (what it did before the fan-out, the
// baseline) against handing the event to a fan-out of three JSON
// outputs, which encode and write on their own goroutines.
func BenchmarkPipelineSide(b *testing.B) {
	ev := &event.Event{Time: time.Now(), Kind: event.KindProcessExec,
		Process: &event.Process{PID: 4242, Binary: "/usr/bin/curl", Args: []string{"curl", "-s", "https://example.com/x"}, Cwd: "/tmp"}}
	b.Run("baseline-direct-stream", func(b *testing.B) {
		s := NewStream(io.Discard, FormatJSON)
		b.ReportAllocs()
		for b.Loop() {
			s.Write(ev)
		}
	})
	b.Run("fanout-3-outputs", func(b *testing.B) {
		routes := make([]Route, 3)
		for i := range routes {
			routes[i] = Route{Name: fmt.Sprint(i), Sink: NewStream(io.Discard, FormatJSON), Filter: All(), Queue: 1 << 16}
		}
		f, err := NewFanout(routes, FanoutOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			f.Write(ev)
		}
		b.StopTimer()
		f.Close()
		var dropped uint64
		for _, st := range f.Stats() {
			dropped += st.QueueDropped
		}
		b.ReportMetric(float64(dropped)/float64(b.N)/3, "dropped/event")
	})
}

type discard struct{}

func (discard) Write(*event.Event) error      { return nil }
func (discard) WriteAlert(*event.Alert) error { return nil }
func (discard) WriteDrops(*event.Drops) error { return nil }
func (discard) Flush() error                  { return nil }
func (discard) Close() error                  { return nil }

func TestSummary(t *testing.T) {
	got := Summary([]RouteStats{
		{Name: "archive", Written: 10, Delivered: 10, QueueDropped: 5},
		{Name: "siem", Written: 4, Delivered: 3, SinkDropped: 1, Errors: 1, LastError: "HTTP 400"},
	})
	want := "outputs: archive wrote 10, dropped 5 (queue full); siem delivered 3 of 4, dropped 1 (given up), 1 errors (last: HTTP 400)"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestPartialBatchesDoNotWaitForIdle: under sustained load the pipeline
// never idles, so Flush is not called. An output whose filter matched one
// event holds it in a partial batch; once the fan-out's tick moves, the
// next Write hands it over. The tick is moved by hand here, so that the
// test says exactly when.
func TestPartialBatchesDoNotWaitForIdle(t *testing.T) {
	rare, busy := &recorder{}, &recorder{}
	f, err := NewFanout([]Route{
		{Name: "rare", Sink: rare, Filter: Filter{Events: true, Kinds: []event.Kind{event.KindFileOpen}}},
		{Name: "busy", Sink: busy, Filter: All()},
	}, FanoutOptions{MaxBatchDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(&event.Event{Kind: event.KindFileOpen, Process: &event.Process{PID: 1}})
	for i := range 10 * handoffBatch {
		f.Write(exec(i))
	}
	// busy got its full batches; rare's one event is still on the
	// pipeline's side, where its goroutine cannot see it
	waitStatsOf(t, f, 1, func(s RouteStats) bool { return s.Written == 10*handoffBatch })
	if n, _ := rare.counts(); n != 0 {
		t.Fatalf("rare got %d events before the tick: the test does not test anything", n)
	}
	f.tick.Add(1)
	f.Write(exec(-1))
	st := waitStatsOf(t, f, 0, func(s RouteStats) bool { return s.Written == 1 })
	if n, _ := rare.counts(); n != 1 || st.QueueDropped != 0 {
		t.Errorf("rare got %d events, stats %+v: want the one event", n, st)
	}
}

// TestPartialBatchesHaveAMaxDelay: the same with the fan-out's own
// ticker: while events keep coming and Flush is never called, the rare
// output's event arrives anyway.
func TestPartialBatchesHaveAMaxDelay(t *testing.T) {
	rare := &recorder{}
	f, err := NewFanout([]Route{
		{Name: "rare", Sink: rare, Filter: Filter{Events: true, Kinds: []event.Kind{event.KindFileOpen}}},
		{Name: "busy", Sink: discard{}, Filter: All()},
	}, FanoutOptions{MaxBatchDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(&event.Event{Kind: event.KindFileOpen, Process: &event.Process{PID: 1}})
	deadline := time.Now().Add(testenv.WaitLimit)
	for i := 0; ; i++ {
		if n, _ := rare.counts(); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the partial batch was never handed over while the pipeline was busy")
		}
		f.Write(exec(i))
		if i%64 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

func waitStatsOf(t *testing.T, f *Fanout, i int, ok func(RouteStats) bool) RouteStats {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		st := f.Stats()[i]
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never got there: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
}
