package enforce

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/netguard"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

// Describe turns an event a kernel program acted on (Enforcement set by
// the decoder, process context by the enrich stage) into its alert: the
// policy and the entry that matched, by name, and a message that says what
// happened.
func (e *Enforcer) Describe(ev *event.Event) *event.Alert {
	cur := e.cur.Load()
	enf := ev.Enforcement
	p := policyOf(cur.plan, enf.PolicyID)
	enf.Policy = p.Name
	if enf.Policy == "" {
		// the pinned state acted for a number this agent has not
		// given out (yet): say so rather than guess
		enf.Policy = fmt.Sprintf("policy#%d", enf.PolicyID)
	}
	ref, ok := cur.name(ev)
	if ok {
		enf.Rule = ref.entry.Name
	}
	al := alertFor(ev, p, ref)
	if r, ok := cur.rules[enf.Rule]; ok && p.Name == RulesPolicyName {
		// a rule's kernel form acted: the alert is the rule's
		al.Rule = r.Ref
	}
	return al
}

func policyOf(pl *Plan, n int) policy.Policy {
	if n < 0 || n >= len(pl.Policies) {
		return policy.Policy{}
	}
	return pl.Policies[n]
}

// name finds the entry of the event's policy that matched.
func (cur *current) name(ev *event.Event) (entryRef, bool) {
	pl, enf := cur.plan, ev.Enforcement
	want := policyOf(pl, enf.PolicyID).Name
	pick := func(refs []entryRef) (entryRef, bool) {
		for _, r := range refs {
			if r.policy == want {
				return r, true
			}
		}
		return entryRef{}, false
	}
	m := enf.Match
	switch ev.Kind {
	case event.KindProcessExec:
		return pick(pl.execNames[Inode{Dev: m.Dev, Ino: m.Ino}])
	case event.KindFileOpen:
		return pick(pl.fileNames[Inode{Dev: m.Dev, Ino: m.Ino}])
	case event.KindModuleLoad:
		return pick(pl.modNames)
	case event.KindNetConnect, event.KindNetBind:
		rules := cur.connect
		if ev.Kind == event.KindNetBind {
			rules = cur.bind
		}
		proto, _ := netguard.ParseProtocol(m.Protocol)
		i := netguard.RuleFor(rules, netguard.Match{Prefix: m.Prefix, Port: m.Port, Protocol: proto},
			enf.PolicyID, enf.Action == event.ActionDenied)
		if i < 0 {
			return entryRef{}, false
		}
		r := rules[i]
		k := netKey{bind: ev.Kind == event.KindNetBind, prefix: r.Prefix, port: r.Port, protocol: protocolName(r.Protocol)}
		return pick(pl.netNames[k])
	}
	return entryRef{}, false
}

func protocolName(p netguard.Protocol) string {
	if p == netguard.ProtocolAny {
		return ""
	}
	return p.String()
}

// alertFor builds the alert of an enforcement; ref may be zero.
func alertFor(ev *event.Event, p policy.Policy, ref entryRef) *event.Alert {
	enf := ev.Enforcement
	sev := p.Severity
	if sev == "" {
		sev = event.SeverityHigh
	}
	rr := event.RuleRef{Name: enf.Policy, Severity: sev, Tags: p.Tags}
	for _, t := range p.Tags {
		if event.IsMITRE(t) {
			rr.MITRE = append(rr.MITRE, t)
		}
	}
	t := ev.Time
	if t.IsZero() {
		t = time.Now()
	}
	return &event.Alert{Time: t, Kind: event.KindAlert, Node: ev.Node, Rule: rr,
		Message: message(ev, ref), Action: enf.Action, Event: ev}
}

// message says what was done, to whom, and why.
func message(ev *event.Event, ref entryRef) string {
	enf := ev.Enforcement
	var b strings.Builder
	b.WriteString(verb(enf.Action))
	b.WriteByte(' ')
	pr := ev.Process
	switch ev.Kind {
	case event.KindProcessExec:
		fmt.Fprintf(&b, "exec of %s", firstNonEmpty(pr.Binary, pr.Filename))
	case event.KindFileOpen:
		fmt.Fprintf(&b, "open of %s by %s", ev.File.Path, firstNonEmpty(pr.Binary, pr.Comm))
	case event.KindNetConnect:
		fmt.Fprintf(&b, "connection to %s port %d by %s", ev.Network.DAddr, ev.Network.DPort, firstNonEmpty(pr.Binary, pr.Comm))
	case event.KindNetBind:
		fmt.Fprintf(&b, "bind of port %d by %s", ev.Network.SPort, firstNonEmpty(pr.Binary, pr.Comm))
	case event.KindModuleLoad:
		fmt.Fprintf(&b, "kernel module load by %s", firstNonEmpty(pr.Binary, pr.Comm))
		if ev.Module != nil && ev.Module.Path != "" {
			fmt.Fprintf(&b, " from %s", ev.Module.Path)
		}
	default:
		b.WriteString(string(ev.Kind))
	}
	fmt.Fprintf(&b, " (pid %d", pr.PID)
	if ev.Parent != nil && ev.Parent.Binary != "" {
		fmt.Fprintf(&b, ", parent %s", ev.Parent.Binary)
	}
	if c := pr.Container; c != nil && c.ID != "" && c.ID != "host" {
		fmt.Fprintf(&b, ", container %.12s", c.ID)
	}
	fmt.Fprintf(&b, "): policy %s", enf.Policy)
	if ref.entry.Name != "" {
		fmt.Fprintf(&b, ", %s", ref.entry.Name)
		if ref.detail != "" && ref.detail != ref.entry.Name {
			fmt.Fprintf(&b, " (%s)", ref.detail)
		}
	}
	if enf.Mechanism == event.MechanismUserspace {
		fmt.Fprintf(&b, "; killed from user space %s after the event", time.Duration(enf.LatencyNS))
	}
	if enf.Error != "" {
		fmt.Fprintf(&b, "; %s", enf.Error)
	}
	return b.String()
}

// verb is how a description says what was done.
func verb(a event.Action) string {
	if v, ok := verbs[a]; ok {
		return v
	}
	return string(a)
}

var verbs = map[event.Action]string{
	event.ActionKilled:    "killed",
	event.ActionDenied:    "denied",
	event.ActionWouldKill: "would kill",
	event.ActionWouldDeny: "would deny",
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return "?"
}
