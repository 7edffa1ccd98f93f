package agent

import (
	"errors"
	"sync/atomic"

	"github.com/vigil-sec/vigil/internal/enforce"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/policy"
)

// What a configuration reload replaces.
const (
	ReloadRules    = "rules"
	ReloadPolicies = "policies"
)

// reloadCounts counts configuration reloads by what and result, for
// vigil_config_reloads_total.
type reloadCounts struct {
	rulesApplied, rulesRejected       atomic.Uint64
	policiesApplied, policiesRejected atomic.Uint64
}

// CountReload counts one reload of what (ReloadRules, ReloadPolicies):
// applied when err is nil, rejected otherwise.
func (a *Agent) CountReload(what string, err error) {
	c := &a.reloads
	switch {
	case what == ReloadRules && err == nil:
		c.rulesApplied.Add(1)
	case what == ReloadRules:
		c.rulesRejected.Add(1)
	case err == nil:
		c.policiesApplied.Add(1)
	default:
		c.policiesRejected.Add(1)
	}
}

func (a *Agent) reloadStats() map[metrics.ReloadKey]uint64 {
	c := &a.reloads
	return map[metrics.ReloadKey]uint64{
		{What: ReloadRules, Result: "applied"}:     c.rulesApplied.Load(),
		{What: ReloadRules, Result: "rejected"}:    c.rulesRejected.Load(),
		{What: ReloadPolicies, Result: "applied"}:  c.policiesApplied.Load(),
		{What: ReloadPolicies, Result: "rejected"}: c.policiesRejected.Load(),
	}
}

// ErrNoEnforcement is SetFilePolicies on an agent run with --enforce=false.
var ErrNoEnforcement = errors.New("no enforce stage (--enforce=false)")

// SetFilePolicies replaces the policies that came from policy files
// (vigil run --policy) with ps, as one change: when the new set cannot be
// applied nothing changes and the error says why, so the last good set
// stays in force. Policies applied with vigil policy apply and those of
// kill/deny rules are kept.
func (a *Agent) SetFilePolicies(ps []policy.Policy) error {
	if a.enforcer == nil {
		return ErrNoEnforcement
	}
	return a.enforcer.Set(enforce.OriginFile, ps)
}
