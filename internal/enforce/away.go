package enforce

import (
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
)

// seenEvery is how often the agent records the hits it has accounted for
// (pinned.State.MarkSeen). Hits of the last interval before an agent dies
// hard may be reported twice: live, and by the next agent as done while no
// agent ran.
const seenEvery = 2 * time.Second

// reportAway logs what the pinned policies did while no agent ran: the
// kernel kept counting, and nobody read the counts. It is called once, as
// the agent adopts the pinned state; it returns the counts by policy name
// for the policy report.
func (e *Enforcer) reportAway(slots []pinned.Slot) map[string]map[event.Action]uint64 {
	hits, err := e.state.Hits()
	if err != nil {
		e.log.Warn("read what pinned policies did while no agent ran", "err", err)
		return nil
	}
	unseen, err := e.state.Unseen(hits)
	if err != nil {
		e.log.Warn("read what pinned policies did while no agent ran", "err", err)
		return nil
	}
	names := map[int]string{}
	for _, s := range slots {
		names[s.Number] = s.Name
	}
	away := map[string]map[event.Action]uint64{}
	for _, h := range unseen {
		if h.Action == pinned.ActionHeld {
			continue // a hold is not an outcome: the exec's is counted apart
		}
		act := actionName(h.Action)
		name := names[h.Policy]
		if name == "" {
			continue // a freed number: nothing to name it by
		}
		if away[name] == nil {
			away[name] = map[event.Action]uint64{}
		}
		away[name][act] += h.Count
		e.log.Warn("while no agent ran, a pinned policy acted", "policy", name, "action", string(act), "count", h.Count)
	}
	e.markSeen(hits)
	return away
}

// markSeen records the hits as accounted for.
func (e *Enforcer) markSeen(hits []pinned.HitCount) {
	if hits == nil {
		var err error
		if hits, err = e.state.Hits(); err != nil {
			e.log.Warn("read enforcement hits", "err", err)
			return
		}
	}
	if err := e.state.MarkSeen(hits); err != nil {
		e.log.Warn("record enforcement hits as seen", "err", err)
	}
}

// WhileAway is what the pinned policies did while no agent ran, as this
// agent found it at start, by policy and action.
func (e *Enforcer) WhileAway() map[string]map[event.Action]uint64 { return e.away }
