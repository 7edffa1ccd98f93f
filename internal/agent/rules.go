package agent

import (
	"sync/atomic"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/rule"
)

// ruleStage runs the rule engine between enrichment and output. The
// engine is swapped atomically (hot reload); only the pipeline goroutine
// evaluates, so the engine itself needs no lock.
type ruleStage struct {
	next    atomic.Pointer[rule.Engine]
	current *rule.Engine // pipeline goroutine only
	alerts  []*event.Alert
	// Alerts counts alerts written, Suppressed the matches they stand
	// for that throttling held back.
	written    atomic.Uint64
	suppressed atomic.Uint64
}

// RuleStats says what the rule stage wrote.
type RuleStats struct {
	Alerts     uint64 `json:"alerts"`
	Suppressed uint64 `json:"suppressed"`
}

// SetRules replaces the rule engine from any goroutine; nil turns the
// rule stage off. Alerts the old engine still held back are written
// before the new one sees its first event.
func (a *Agent) SetRules(e *rule.Engine) {
	a.rules.next.Store(e)
	a.enforceRules(e)
}

// RuleStats reports the rule stage's counters.
func (a *Agent) RuleStats() RuleStats {
	return RuleStats{Alerts: a.rules.written.Load(), Suppressed: a.rules.suppressed.Load()}
}

// engine returns the engine to use, draining the one it replaces.
func (a *Agent) engine() *rule.Engine {
	next := a.rules.next.Load()
	if next != a.rules.current {
		if old := a.rules.current; old != nil {
			a.writeAlerts(old.Drain(a.rules.alerts[:0]))
		}
		a.rules.current = next
	}
	return a.rules.current
}

// evalRules matches ev against the rules and writes its alerts.
func (a *Agent) evalRules(ev *event.Event) {
	if e := a.engine(); e != nil {
		a.writeAlerts(e.Eval(ev, a.rules.alerts[:0]))
	}
}

// flushRules writes alerts throttling held back whose time has come, or
// all of them when draining at the end.
func (a *Agent) flushRules(drain bool) {
	e := a.engine()
	if e == nil {
		return
	}
	if drain {
		a.writeAlerts(e.Drain(a.rules.alerts[:0]))
		return
	}
	a.writeAlerts(e.Flush(time.Now(), a.rules.alerts[:0]))
}

func (a *Agent) writeAlerts(alerts []*event.Alert) {
	for i, al := range alerts {
		if a.enforcer != nil && a.enforcer.RuleAlert(al) {
			alerts[i] = nil // the kernel acted and reports it
			continue
		}
		a.rules.written.Add(1)
		a.rules.suppressed.Add(al.Suppressed)
		if err := a.cfg.Sink.WriteAlert(al); err != nil {
			a.counts.sinkError(a.log, err)
		}
		alerts[i] = nil // the sink may keep the alert; the buffer must not
	}
	a.rules.alerts = alerts[:0]
}
