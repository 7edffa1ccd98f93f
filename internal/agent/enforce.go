package agent

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/enforce"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/procfs"
	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/internal/wire"
)

// EnforceConfig configures the enforce stage.
type EnforceConfig struct {
	// PinDir is where enforcement is pinned (/sys/fs/bpf/vigil).
	PinDir string
	// StateDir remembers policies applied through the API ("" forgets
	// them at exit).
	StateDir string
	// Policies come from policy files given at start.
	Policies []policy.Policy
	// LSM asks for the BPF LSM tier where the kernel offers it.
	LSM bool
}

// startEnforcement loads the enforce stage after the sensors (so that at
// exec the process sensor reports before the exec guard kills), registers
// its records' decoders and applies the policies: those given, those the
// state directory remembers, and the kernel forms of the rules.
func (a *Agent) startEnforcement(h hostCgroups) error {
	c := a.cfg.Enforce
	e, err := enforce.New(enforce.Config{PinDir: c.PinDir, Cgroup2Root: h.cgroup2Root, Ring: a.ring,
		Clock: a.clock, Exempt: exemptPIDs(), LSM: c.LSM, MaxPacketPrefixes: a.maxPacketPrefixes(),
		Log: a.log.With("stage", "enforce")})
	if err != nil {
		return err
	}
	a.enforcer = e
	a.store = enforce.NewStore(c.StateDir)
	for kind, d := range e.Decoders() {
		a.decoders.set(kind, d)
	}
	for mech, progs := range e.Programs() {
		a.trackPrograms("enforce/"+mech, programSet(progs))
	}
	if adopted := e.Adopted(); len(adopted) > 0 {
		a.log.Info("adopted pinned enforcement", "policies", adopted, "pin_dir", c.PinDir)
	}
	stored, err := a.storedPolicies()
	if err != nil {
		return err
	}
	where, rules := rulePolicy(a.cfg.Rules)
	if err := e.SetAll(map[enforce.Origin][]policy.Policy{
		enforce.OriginFile: c.Policies, enforce.OriginApplied: stored, enforce.OriginRules: rules,
	}); err != nil {
		return fmt.Errorf("policies: %w", err)
	}
	e.SetRules(where)
	return nil
}

// rulePolicy says where each kill or deny rule runs, and returns the
// kernel forms as the rules' policy.
func rulePolicy(e *rule.Engine) (map[string]enforce.RuleInfo, []policy.Policy) {
	where := map[string]enforce.RuleInfo{}
	if e == nil {
		return where, nil
	}
	rs := e.Ruleset()
	for _, r := range rs.Rules() {
		if w, _ := r.Enforcement(); w != "" {
			where[r.Name] = enforce.RuleInfo{Where: w,
				Ref: event.RuleRef{Name: r.Name, Severity: r.Severity, Tags: r.Tags, MITRE: r.MITRE}}
		}
	}
	if p := rs.Policy(); p != nil {
		return where, []policy.Policy{*p}
	}
	return where, nil
}

// storedPolicies reads what `vigil policy apply` left in the state dir.
func (a *Agent) storedPolicies() ([]policy.Policy, error) {
	files, err := a.store.Load()
	if err != nil {
		return nil, err
	}
	var out []policy.Policy
	for _, f := range files {
		ps, err := config.ParsePolicies(f.Path, f.YAML)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

// enforceRules gives the enforce stage the kernel forms of the rules with a
// kill or deny action. If the kernel refuses them, the rules are carried
// out from user space instead, and the error is logged.
func (a *Agent) enforceRules(e *rule.Engine) {
	if a.enforcer == nil {
		return
	}
	where, ps := rulePolicy(e)
	if err := a.enforcer.Set(enforce.OriginRules, ps); err != nil {
		a.log.Error("rules with action kill or deny run in user space: the kernel refused them", "err", err)
		for n, w := range where {
			if w.Where == rule.InKernel {
				w.Where = rule.InUserspace
				where[n] = w
			}
		}
	}
	a.enforcer.SetRules(where)
}

// enforceAlert writes the alert of an event a policy acted on.
func (a *Agent) enforceAlert(ev *event.Event) {
	a.writeAlert(a.enforcer.Describe(ev))
}

// writeAlert writes one alert that did not come from the rule engine.
func (a *Agent) writeAlert(al *event.Alert) {
	if a.intel != nil {
		a.intel.annotate(al)
	}
	a.rules.written.Add(1)
	if err := a.cfg.Sink.WriteAlert(al); err != nil {
		a.counts.sinkError(a.log, err)
	}
}

// drainEnforcement writes the alerts the enforce stage raised off the
// pipeline (hash verdicts), enriched here, and does its periodic work.
func (a *Agent) drainEnforcement() {
	if a.enforcer == nil {
		return
	}
	for {
		select {
		case al := <-a.enforcer.Alerts():
			if al.Event != nil {
				a.enricher.Enrich(al.Event)
			}
			a.writeAlert(al)
		default:
			a.enforcer.Tick(time.Now())
			return
		}
	}
}

// exemptPIDs are the agent and its ancestors up to init: nothing is ever
// done to them.
func exemptPIDs() []uint32 {
	out := []uint32{uint32(os.Getpid())}
	pid := os.Getppid()
	for i := 0; pid > 1 && i < 64; i++ {
		out = append(out, uint32(pid))
		pid = parentOf(pid)
	}
	return append(out, 1)
}

func parentOf(pid int) int {
	st, err := procfs.ReadStat(uint32(pid))
	if err != nil {
		return 0
	}
	return int(st.PPID)
}

// ApplyPolicies is the API's apply: check the file, remember its policies,
// apply them.
func (a *Agent) ApplyPolicies(file string, yaml []byte) ([]string, error) {
	ps, err := config.ParsePolicies(file, yaml)
	if err != nil {
		return nil, err
	}
	if err := a.enforcer.Upsert(enforce.OriginApplied, ps); err != nil {
		return nil, err
	}
	docs, err := config.SplitPolicies(yaml)
	if err != nil {
		return nil, err
	}
	var names []string
	var errs []error
	for _, d := range docs {
		names = append(names, d.Name)
		errs = append(errs, a.store.Save(d.Name, d.YAML))
	}
	return names, errors.Join(errs...)
}

// ClearPolicies is the API's clear.
func (a *Agent) ClearPolicies(names []string) ([]string, error) {
	removed, err := a.enforcer.Remove(names)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, n := range removed {
		errs = append(errs, a.store.Remove(n))
	}
	return removed, errors.Join(errs...)
}

// PolicyReport is the API's list.
func (a *Agent) PolicyReport() api.PolicyReport {
	var rep api.PolicyReport
	for _, p := range a.enforcer.Policies() {
		st := api.PolicyStatus{Name: p.Name, Number: p.Number, Mode: p.Mode, Scope: p.Scope, Origin: string(p.Origin),
			Source: p.Source, Entries: p.Entries, Unresolved: p.Unresolved}
		for act, n := range p.Hits {
			if st.Hits == nil {
				st.Hits = map[string]uint64{}
			}
			st.Hits[string(act)] = n
		}
		for act, n := range a.enforcer.WhileAway()[p.Name] {
			if st.WhileAway == nil {
				st.WhileAway = map[string]uint64{}
			}
			st.WhileAway[string(act)] = n
		}
		rep.Policies = append(rep.Policies, st)
	}
	for _, m := range a.enforcer.Mechanisms() {
		rep.Mechanisms = append(rep.Mechanisms, api.Mechanism{Name: m.Name, Mode: m.Mode, Hook: m.Hook, Error: m.Error})
	}
	rep.Adopted = a.enforcer.Adopted()
	for _, s := range a.enforcer.Packets() {
		rep.Packets = append(rep.Packets, api.PacketCount{Prefix: s.Prefix, Packets: s.Packets, Bytes: s.Bytes, WouldDrop: s.WouldDrop})
	}
	return rep
}

// isHold says a record is a hold request, not an event.
func isHold(kind uint16) bool { return kind == wire.ExecHold }

// programSet lets trackPrograms read a mechanism's programs.
type programSet map[string]*ebpf.Program

func (p programSet) Programs() map[string]*ebpf.Program { return p }
func (programSet) Close() error                         { return nil }

// policyAPI is what the local API may do to the policies: nothing without
// an enforce stage.
func (a *Agent) policyAPI() api.Policies {
	if a.enforcer == nil {
		return nil
	}
	return a
}

// enforcementStats reads the enforce stage's counters for metrics; nil
// without an enforce stage.
func (a *Agent) enforcementStats() (*metrics.Enforcement, int) {
	e := a.enforcer
	if e == nil {
		return nil, 0
	}
	c := e.Stats()
	out := &metrics.Enforcement{
		UserspaceKills:        c.UserspaceKills.Load(),
		UserspaceKillFailures: c.UserspaceKillFailed.Load(),
		Holds: map[string]uint64{"held": c.Holds.Load(), "killed": c.HoldsKilled.Load(),
			"overflow": c.HoldOverflow.Load(), "late": c.HoldsLate.Load(), "learn_overflow": c.LearnOverflow.Load()},
	}
	if st, ok := e.HoldExpiry(); ok {
		out.Holds["expired"], out.Holds["not_held"] = st.Expired, st.NotHeld
	}
	out.KillLatency = c.KillLatency.Snapshot()
	policies := e.Policies()
	for _, p := range policies {
		// every action of every policy has its series from the start, so
		// that dashboards and alerting rules find it before the first hit
		acts := []event.Action{event.ActionKilled, event.ActionDenied, event.ActionWouldKill, event.ActionWouldDeny}
		for act := range p.Hits {
			if !slices.Contains(acts, act) {
				acts = append(acts, act)
			}
		}
		for _, act := range acts {
			out.Hits = append(out.Hits, metrics.PolicyHit{Policy: p.Name, Action: string(act), Count: p.Hits[act]})
		}
	}
	for _, s := range e.Packets() {
		out.PacketsDropped += s.Packets
		out.PacketBytesDropped += s.Bytes
	}
	return out, len(policies)
}
