package pinned

import (
	"fmt"
	"slices"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/wire"
)

// CheckHit checks the hit (policy, action) an enforcement record carries:
// a policy number the kernel tells apart, and one of the actions the
// mechanism takes (want). An error wraps wire.ErrMalformed.
func CheckHit(policy uint32, action uint16, want ...Action) (Action, error) {
	a := Action(action)
	if policy >= MaxPolicies {
		return a, fmt.Errorf("%w: policy %d", wire.ErrMalformed, policy)
	}
	if !slices.Contains(want, a) {
		return a, fmt.Errorf("%w: action %d", wire.ErrMalformed, action)
	}
	return a, nil
}

// EventAction is what an event's enforcement says a program did: killed,
// would_kill, denied or would_deny ("" for a hold, which is no event).
func EventAction(a Action) event.Action { return eventActions[a] }

var eventActions = map[Action]event.Action{
	ActionKilled:    event.ActionKilled,
	ActionWouldKill: event.ActionWouldKill,
	ActionDenied:    event.ActionDenied,
	ActionWouldDeny: event.ActionWouldDeny,
}
