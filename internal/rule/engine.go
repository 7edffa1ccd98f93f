package rule

import (
	"fmt"
	"time"

	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/vigil-sec/vigil/internal/event"
)

// Config tunes an Engine.
type Config struct {
	Throttle Throttle
	// OnMatch, when set, sees every match that no exception suppressed,
	// before throttling: the enforcement stage acts on kill and deny
	// rules here, throttled or not.
	OnMatch func(r *Rule, ev *event.Event)
}

// Engine evaluates a Ruleset against events, one at a time. It keeps the
// state of tracks and throttles; it is not safe for concurrent use.
type Engine struct {
	rs  *Ruleset
	cfg Config
	act activation
	// frame resolves act's event while Eval runs (nil outside); late
	// resolves the event of an alert rendered after its match.
	frame    *interpreter.ExecutionFrame
	late     activation
	cand     bitset
	tracks   []*trackTable // by check id; nil for rules
	byName   map[string]*trackTable
	throttle *throttle
	stats    []CheckStats // by check id
	events   uint64
	// cost is the cost tracker every evaluation uses, reset from
	// freshCost before each; nil when the rules have no runtime limit.
	cost, freshCost *cost.Tracker
}

// CheckStats counts what one rule (or track) did.
type CheckStats struct {
	Name string `json:"name"`
	// Evaluations counts conditions evaluated (events that passed the
	// index, the scope and the pre-filter).
	Evaluations uint64 `json:"evaluations"`
	Matches     uint64 `json:"matches"`
	// Excepted matches were suppressed by the rule's exceptions.
	Excepted uint64 `json:"excepted,omitempty"`
	// Errors counts evaluations that failed (e.g. a missing map key); a
	// failed evaluation is not a match.
	Errors    uint64 `json:"errors,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

// Stats is what an engine did.
type Stats struct {
	Events uint64       `json:"events"`
	Rules  []CheckStats `json:"rules"`
	Tracks []CheckStats `json:"tracks,omitempty"`
	// ThrottleEvicted counts buckets dropped at the cap; TrackEvicted
	// keys forgotten while still inside their window.
	ThrottleEvicted uint64 `json:"throttle_evicted"`
	TrackEvicted    uint64 `json:"track_evicted"`
	// CeilingHeld counts matches the rules' ceilings held back (they are
	// reported in the suppressed counts of later alerts).
	CeilingHeld uint64 `json:"ceiling_held"`
}

// NewEngine prepares rs for evaluation with fresh state.
func NewEngine(rs *Ruleset, cfg Config) *Engine {
	e := &Engine{rs: rs, cfg: cfg, cand: newBitset(len(rs.checks)), throttle: newThrottle(cfg.Throttle),
		tracks: make([]*trackTable, len(rs.checks)), stats: make([]CheckStats, len(rs.checks)),
		byName: map[string]*trackTable{}}
	e.act.vars = rs.env.vars
	for id, ch := range rs.checks {
		if ch.track != nil {
			e.tracks[id] = newTrackTable(ch.track)
			e.byName[ch.track.name] = e.tracks[id]
			e.stats[id].Name = ch.track.name
		} else {
			e.stats[id].Name = ch.rule.Name
		}
	}
	e.act.tables = e.byName
	e.act.tracked, e.act.trackedCount = trackFuncs(e.byName, func() time.Time { return e.act.ev.Time })
	e.late.vars, e.late.tables = e.act.vars, e.byName
	e.throttle.emit = e.emit
	if rs.costLimit > 0 {
		e.freshCost, _ = cost.NewTracker(nil, cost.TrackerLimit(rs.costLimit),
			cost.TrackerLimitExceededHandler(func() {
				panic(interpreter.EvalCancelledError{Cause: interpreter.CostLimitExceeded,
					Message: fmt.Sprintf("operation cancelled: actual cost limit %d exceeded", rs.costLimit)})
			}))
		e.cost = new(cost.Tracker)
	}
	return e
}

// Ruleset is the rule set the engine evaluates.
func (e *Engine) Ruleset() *Ruleset { return e.rs }

// Eval runs ev through the rules and appends the alerts to write to out:
// ev's own, and those that throttling held back and may now go out.
func (e *Engine) Eval(ev *event.Event, out []*event.Alert) []*event.Alert {
	e.events++
	out = e.throttle.flush(ev.Time, out)
	ki := e.rs.byKind[ev.Kind]
	if ki == nil {
		ki = e.rs.anyKind
	}
	e.act.reset(ev)
	defer e.act.reset(nil)
	ki.candidates(&e.act, e.cand)
	hit := false
	for _, w := range e.cand {
		hit = hit || w != 0
	}
	if !hit {
		return out
	}
	frame, err := interpreter.NewExecutionFrame(&e.act)
	if err != nil {
		return out // only for inputs that are not activations
	}
	e.frame = frame
	for w, word := range e.cand {
		for word != 0 {
			id := w<<6 | trailingZeros(word)
			word &= word - 1
			out = e.evalCheck(id, ev, frame, out)
		}
	}
	e.frame = nil
	frame.Close()
	return out
}

func (e *Engine) evalCheck(id int, ev *event.Event, frame *interpreter.ExecutionFrame, out []*event.Alert) []*event.Alert {
	ch := e.rs.checks[id]
	if ch.rule != nil && !ch.rule.inScope(ev) {
		return out // not evaluated: the scope is tested natively, before CEL
	}
	if ch.filter != nil && ch.filter.eval(&e.act) == triFalse {
		return out // not evaluated: the pre-filter proved the condition false
	}
	st := &e.stats[id]
	st.Evaluations++
	if ch.track != nil {
		e.feedTrack(id, frame)
		return out
	}
	r := ch.rule
	if r.pre != nil && !e.byName[r.pre.track].has(r.pre.get(&e.act), ev.Time) {
		return out
	}
	v, err := e.eval(r.prog, frame)
	if err != nil {
		st.Errors++
		st.LastError = err.Error()
		return out
	}
	if v != types.True {
		return out
	}
	st.Matches++
	if r.except != nil {
		if x, err := e.eval(r.except, frame); err == nil && x == types.True {
			st.Excepted++
			return out
		}
	}
	if e.cfg.OnMatch != nil {
		e.cfg.OnMatch(r, ev)
	}
	al := e.throttle.newAlert()
	*al = event.Alert{Time: ev.Time, Kind: event.KindAlert, Node: ev.Node, Rule: r.ref,
		Action: alertAction(r.Action), Event: ev}
	if r.Action != ActionAlert {
		// a kill or deny is carried out on every match, and every action
		// is reported: throttling would leave processes alive
		al.Message = r.message.render(e, frame)
		return append(out, al)
	}
	if r.message.stateful {
		al.Message = r.message.render(e, frame)
	}
	return e.throttle.admit(int32(id), al, out)
}

// emit renders the message of an alert that leaves the throttle, unless
// its rule's message was rendered at the match (template.stateful). A
// message that reads only its event comes out the same whenever it is
// rendered, so the matches the throttle holds back and replaces are
// never rendered at all.
func (e *Engine) emit(check int32, al *event.Alert) {
	msg := e.rs.checks[check].rule.message
	if msg.stateful {
		return
	}
	if e.frame != nil && al.Event == e.act.ev {
		al.Message = msg.render(e, e.frame) // the event being evaluated
		return
	}
	e.late.reset(al.Event)
	defer e.late.reset(nil)
	frame, err := interpreter.NewExecutionFrame(&e.late)
	if err != nil {
		return // only for inputs that are not activations
	}
	defer frame.Close()
	al.Message = msg.render(e, frame)
}

// eval runs one program over the event the frame resolves. The frame is
// shared by every program the event meets; each evaluation of a tracked
// program starts its cost tracker afresh, so that the runtime cost limit
// bounds each program alone, not the sum over the rules. One tracker is
// reused across evaluations; cel-go still allocates the evaluation
// details each tracked run reports (about two allocations per event,
// docs/benchmarks.md). A program the compiler found bounded runs without
// the tracker, which the frame would otherwise keep feeding.
func (e *Engine) eval(p *program, frame *interpreter.ExecutionFrame) (ref.Val, error) {
	switch {
	case p.tracked && e.cost != nil:
		*e.cost = *e.freshCost
		frame.SetCostTracker(e.cost)
	case frame.CostTracker() != nil:
		frame.SetCostTracker(nil)
	}
	v, _, err := p.Eval(frame)
	return v, err
}

// alertAction is what an alert reports until the enforcement stage
// replaces it with what it did.
func alertAction(a Action) event.Action {
	switch a {
	case ActionKill:
		return event.ActionWouldKill
	case ActionDeny:
		return event.ActionWouldDeny
	}
	return event.ActionAlert
}

func (e *Engine) feedTrack(id int, frame *interpreter.ExecutionFrame) {
	t := e.tracks[id]
	st := &e.stats[id]
	v, err := e.eval(t.spec.cond, frame)
	if err != nil {
		st.Errors++
		st.LastError = err.Error()
		return
	}
	if v != types.True {
		return
	}
	st.Matches++
	k, err := e.eval(t.spec.key, frame)
	key, ok := k.(types.String)
	if err != nil || !ok || key == "" {
		return // nothing to key on: the event cannot be correlated
	}
	var val types.String
	if t.spec.value != nil {
		x, err := e.eval(t.spec.value, frame)
		if val, ok = x.(types.String); err != nil || !ok {
			return
		}
	}
	t.record(string(key), string(val), t.spec.value != nil, e.act.ev.Time)
}

// Flush writes the alerts that throttling held back and whose buckets
// have refilled by now: call it when no events arrive for a while.
func (e *Engine) Flush(now time.Time, out []*event.Alert) []*event.Alert {
	return e.throttle.flush(now, out)
}

// Drain writes every alert still held back, e.g. at the end of a replay
// or before the engine is replaced.
func (e *Engine) Drain(out []*event.Alert) []*event.Alert {
	return e.throttle.flush(time.Time{}, out)
}

// Stats reports the engine's counters.
func (e *Engine) Stats() Stats {
	s := Stats{Events: e.events, ThrottleEvicted: e.throttle.evicted, CeilingHeld: e.throttle.ceilingHeld()}
	for id, ch := range e.rs.checks {
		if ch.track != nil {
			s.Tracks = append(s.Tracks, e.stats[id])
			s.TrackEvicted += e.tracks[id].evicted
			continue
		}
		s.Rules = append(s.Rules, e.stats[id])
	}
	return s
}
