package rule

import (
	"fmt"
	"math/rand/v2"
	"slices"
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

// bound is the most alerts a token bucket of burst, refilled one per
// refill, lets out over span, plus the one held alert written at the end.
func bound(burst int, refill, span time.Duration) int {
	return burst + int(span/refill) + 1
}

// loop runs n matches of the shell rule 1 ms apart through an engine
// with th; parentOf names each match's parent. It returns the alerts
// written while the loop ran and after draining, and the engine.
func loop(t *testing.T, th Throttle, n int, parentOf func(i int) string) (live, all []*event.Alert, e *Engine) {
	t.Helper()
	e = NewEngine(mustCompile(t, shellRule), Config{Throttle: th})
	var out []*event.Alert
	for i := range n {
		ev := execEv(time.Duration(i)*time.Millisecond, "/bin/sh")
		ev.Process.ParentExecID = parentOf(i)
		out = e.Eval(ev, out)
	}
	live = out
	return live, e.Drain(slices.Clone(out)), e
}

// TestSameParentLoopIsBoundedByItsSource: 10 000 matches from one parent
// with the default throttle give the source's burst, its refills and the
// held alert, and those alerts account for every match.
func TestSameParentLoopIsBoundedByItsSource(t *testing.T) {
	th := DefaultThrottle()
	live, all, e := loop(t, th, 10000, func(int) string { return "p1" })
	span := 9999 * time.Millisecond
	if max := bound(th.Burst, th.Refill, span); len(all) > max || len(live) < th.Burst {
		t.Errorf("%d alerts (%d live), want %d to %d", len(all), len(live), th.Burst, max)
	}
	if n := matchesOf(all); n != 10000 {
		t.Errorf("alerts account for %d matches, want 10000", n)
	}
	if st := e.Stats(); st.Rules[0].Matches != 10000 || st.CeilingHeld != 0 {
		t.Errorf("stats: %d matches, %d held by the ceiling; want 10000 and 0 (one source stays below it)",
			st.Rules[0].Matches, st.CeilingHeld)
	}
}

// TestFreshParentLoopIsBoundedByTheRuleCeiling: 10 000 matches, each from
// a new parent (so each has a source bucket of its own), are bounded by
// the rule's ceiling, and the alerts still account for every match.
func TestFreshParentLoopIsBoundedByTheRuleCeiling(t *testing.T) {
	th := DefaultThrottle()
	live, all, e := loop(t, th, 10000, func(i int) string { return fmt.Sprint("p", i) })
	span := 9999 * time.Millisecond
	if max := bound(th.RuleBurst, th.RuleRefill, span); len(all) > max || len(live) < th.RuleBurst {
		t.Errorf("%d alerts (%d live), want %d to %d", len(all), len(live), th.RuleBurst, max)
	}
	if n := matchesOf(all); n != 10000 {
		t.Errorf("alerts account for %d matches, want 10000", n)
	}
	// all but the burst (and the odd token that refilled before the
	// ceiling held anything) were held by the ceiling, and went out in
	// its summaries
	if held := e.Stats().CeilingHeld; held < uint64(10000-len(all)) || held > uint64(10000-th.RuleBurst) {
		t.Errorf("the ceiling held %d matches, want %d to %d", held, 10000-len(all), 10000-th.RuleBurst)
	}
	last := all[len(all)-1]
	if last.Suppressed == 0 || last.Event.Time != epoch.Add(span) {
		t.Errorf("last alert: suppressed %d, event at %v; want the last match with the count before it", last.Suppressed, last.Event.Time)
	}
	// without the ceiling every fresh parent alerts: what the ceiling is for
	th.NoRuleCeiling = true
	_, all, _ = loop(t, th, 10000, func(i int) string { return fmt.Sprint("p", i) })
	if len(all) != 10000 {
		t.Errorf("without the ceiling: %d alerts, want 10000", len(all))
	}
}

// TestLoopingFreshParentsAreBounded: parents that each repeat the match
// past their own burst hold alerts back in their own buckets; when those
// refill, the held alerts meet the ceiling too, so the output stays
// bounded, during the loop and when draining.
func TestLoopingFreshParentsAreBounded(t *testing.T) {
	th := Throttle{Burst: 2, Refill: time.Second, RuleBurst: 20, RuleRefill: 100 * time.Millisecond, MaxKeys: 100}
	live, all, e := loop(t, th, 10000, func(i int) string { return fmt.Sprint("p", i/5) }) // 2 000 parents × 5
	span := 9999 * time.Millisecond
	if max := bound(th.RuleBurst, th.RuleRefill, span); len(all) > max {
		t.Errorf("%d alerts (%d live), want at most %d", len(all), len(live), max)
	}
	if n := matchesOf(all); n != 10000 {
		t.Errorf("alerts account for %d matches, want 10000", n)
	}
	if e.Stats().ThrottleEvicted == 0 {
		t.Error("no bucket was evicted: the test does not cover evicted buckets meeting the ceiling")
	}
}

// TestThrottleAccountingHolds: for mixed workloads (several rules and
// containers, hosts with repeating and fresh parents, pauses, flushes
// between events) every match is accounted for and each rule stays within
// its ceiling.
func TestThrottleAccountingHolds(t *testing.T) {
	rs := mustCompile(t, shellRule+`
- rule: ls
  description: ls ran
  condition: kind == "process_exec" && process.name == "ls"
  severity: low
  tags: [T1083]
`)
	th := Throttle{Burst: 3, Refill: 500 * time.Millisecond, RuleBurst: 15, RuleRefill: 50 * time.Millisecond, MaxKeys: 40}
	for seed := range 20 {
		rnd := rand.New(rand.NewPCG(uint64(seed), 1))
		e := NewEngine(rs, Config{Throttle: th})
		var out []*event.Alert
		at := time.Duration(0)
		for range 5000 {
			at += time.Duration(rnd.IntN(3)) * time.Millisecond
			if rnd.IntN(500) == 0 {
				at += time.Duration(rnd.IntN(3000)) * time.Millisecond // a pause
			}
			bin := "/bin/sh"
			if rnd.IntN(3) == 0 {
				bin = "/bin/ls"
			}
			ev := execEv(at, bin)
			switch rnd.IntN(4) {
			case 0:
				ev.Process.Container = &event.Container{ID: fmt.Sprint("c", rnd.IntN(5))}
			case 1:
				ev.Process.ParentExecID = fmt.Sprint("p", rnd.IntN(10)) // repeating parents
			default:
				ev.Process.ParentExecID = fmt.Sprint("fresh", rnd.Uint64()) // a new parent each time
			}
			out = e.Eval(ev, out)
			if rnd.IntN(50) == 0 {
				out = e.Flush(epoch.Add(at+time.Duration(rnd.IntN(1000))*time.Millisecond), out)
			}
		}
		out = e.Drain(out)
		span := at + time.Second // the flushes may look up to 1 s past the last event
		perRule := map[string][]*event.Alert{}
		for _, a := range out {
			perRule[a.Rule.Name] = append(perRule[a.Rule.Name], a)
		}
		for _, st := range e.Stats().Rules {
			if n := matchesOf(perRule[st.Name]); n != st.Matches {
				t.Errorf("seed %d, rule %s: alerts account for %d matches, want %d", seed, st.Name, n, st.Matches)
			}
			if max := bound(th.RuleBurst, th.RuleRefill, span); len(perRule[st.Name]) > max {
				t.Errorf("seed %d, rule %s: %d alerts over %v, want at most %d", seed, st.Name, len(perRule[st.Name]), span, max)
			}
		}
	}
}
