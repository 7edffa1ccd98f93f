package rule

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// matchesOf counts the matches alerts stand for: each alert itself and
// the suppressed matches it reports.
func matchesOf(alerts []*event.Alert) uint64 {
	var n uint64
	for _, a := range alerts {
		n += 1 + a.Suppressed
	}
	return n
}

// TestLoopIsThrottled: a loop that triggers a rule 10 000 times in ten
// seconds gives the burst, one alert per refill, and a count of the rest:
// every match is accounted for.
func TestLoopIsThrottled(t *testing.T) {
	rs := mustCompile(t, shellRule)
	e := NewEngine(rs, Config{Throttle: Throttle{Burst: 5, Refill: 2 * time.Second}})
	var out []*event.Alert
	for i := range 10000 {
		out = e.Eval(execEv(time.Duration(i)*time.Millisecond, "/bin/sh"), out) // same parent: one source
	}
	live := len(out)
	out = e.Drain(out)
	// 5 at once, then one per 2 s over 10 s, then the held one
	if live < 5 || live > 5+5+1 {
		t.Errorf("%d alerts while the loop ran, want 5 to 11", live)
	}
	if len(out) != live+1 {
		t.Errorf("draining wrote %d alerts, want the 1 held", len(out)-live)
	}
	if n := matchesOf(out); n != 10000 {
		t.Errorf("alerts account for %d matches, want 10000", n)
	}
	last := out[len(out)-1]
	if last.Suppressed == 0 || last.Event.Time != epoch.Add(9999*time.Millisecond) {
		t.Errorf("held alert: suppressed %d, event at %v; want the last match with the count before it", last.Suppressed, last.Event.Time)
	}
}

// TestThrottleScopes: containers and host parents have their own buckets.
func TestThrottleScopes(t *testing.T) {
	rs := mustCompile(t, shellRule)
	var evs []*event.Event
	for i := range 20 {
		ev := execEv(time.Duration(i)*time.Millisecond, "/bin/sh")
		switch i % 3 {
		case 0:
			ev.Process.Container = &event.Container{ID: "c1"}
		case 1:
			ev.Process.Container = &event.Container{ID: "c2"}
		default:
			ev.Process.ParentExecID = fmt.Sprintf("p%d", i) // a new parent each time
		}
		evs = append(evs, ev)
	}
	alerts := run(rs, Config{Throttle: Throttle{Burst: 2, Refill: time.Hour}}, evs...)
	perScope := map[string]int{}
	for _, a := range alerts {
		perScope[scopeOf(a.Event)]++
	}
	if perScope["c:c1"] != 3 || perScope["c:c2"] != 3 {
		t.Errorf("containers: %v, want 2 alerts and the held one each", perScope)
	}
	hosts := 0
	for k, n := range perScope {
		if k[0] == 'p' {
			hosts += n
			if n != 1 {
				t.Errorf("host parent %s: %d alerts, want 1", k, n)
			}
		}
	}
	if hosts != 6 {
		t.Errorf("%d host alerts, want 6", hosts)
	}
	if n := matchesOf(alerts); n != 20 {
		t.Errorf("alerts account for %d matches, want 20", n)
	}
}

// TestFlushWritesHeldAlertWhenBucketRefills: a held alert goes out when a
// token is back, even if nothing else happens, and Flush is idempotent.
func TestFlushWritesHeldAlertWhenBucketRefills(t *testing.T) {
	rs := mustCompile(t, shellRule)
	e := NewEngine(rs, Config{Throttle: Throttle{Burst: 1, Refill: 10 * time.Second}})
	out := e.Eval(execEv(0, "/bin/sh"), nil)
	out = e.Eval(execEv(time.Second, "/bin/sh"), out)
	out = e.Eval(execEv(2*time.Second, "/bin/sh"), out)
	if len(out) != 1 {
		t.Fatalf("%d alerts before refill, want 1", len(out))
	}
	if held := e.Flush(epoch.Add(5*time.Second), nil); len(held) != 0 {
		t.Fatalf("flushed %d before the refill", len(held))
	}
	held := e.Flush(epoch.Add(11*time.Second), nil)
	if len(held) != 1 || held[0].Suppressed != 1 || held[0].Event.Time != epoch.Add(2*time.Second) {
		t.Fatalf("flush after refill: %v", held)
	}
	if again := e.Drain(nil); len(again) != 0 {
		t.Errorf("drain after flush wrote %d more", len(again))
	}
}

func TestThrottleBoundedAndDisabled(t *testing.T) {
	rs := mustCompile(t, shellRule)
	e := NewEngine(rs, Config{Throttle: Throttle{Burst: 1, Refill: time.Hour, MaxKeys: 10}})
	var out []*event.Alert
	for i := range 100 {
		ev := execEv(time.Duration(i)*time.Millisecond, "/bin/sh")
		ev.Process.Container = &event.Container{ID: fmt.Sprint("c", i)}
		out = e.Eval(ev, out)
		out = e.Eval(ev, out) // held
	}
	out = e.Drain(out)
	if len(e.throttle.buckets) != 10 || e.Stats().ThrottleEvicted != 90 {
		t.Errorf("%d buckets, %d evicted; want 10 and 90", len(e.throttle.buckets), e.Stats().ThrottleEvicted)
	}
	if n := matchesOf(out); n != 200 {
		t.Errorf("alerts account for %d matches, want 200 (evicted buckets write what they held)", n)
	}
	all := run(rs, Config{Throttle: Throttle{Disabled: true}}, execEv(0, "/bin/sh"), execEv(0, "/bin/sh"), execEv(0, "/bin/sh"))
	if len(all) != 3 {
		t.Errorf("disabled throttle let %d of 3 through", len(all))
	}
}
