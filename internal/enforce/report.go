package enforce

import (
	"sort"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

// PolicyStatus is one policy as it runs.
type PolicyStatus struct {
	Name, Mode, Scope, Source string
	Origin                    Origin
	Number                    int
	// Entries counts the kernel entries by part.
	Entries map[string]int
	// Hits counts what the kernel did for the policy, by action, since
	// its number was given to it (pinned: kept across restarts).
	Hits       map[event.Action]uint64
	Unresolved []string
}

// Policies describes the set in force, by name.
func (e *Enforcer) Policies() []PolicyStatus {
	cur := e.cur.Load()
	pl := cur.plan
	hits := map[int]map[event.Action]uint64{}
	if hs, err := e.state.Hits(); err == nil {
		for _, h := range hs {
			if hits[h.Policy] == nil {
				hits[h.Policy] = map[event.Action]uint64{}
			}
			hits[h.Policy][actionName(h.Action)] += h.Count
		}
	}
	var out []PolicyStatus
	for n, p := range pl.Policies {
		if p.Name == "" {
			continue
		}
		st := PolicyStatus{Name: p.Name, Mode: string(p.Mode), Scope: p.Scope.String(), Source: p.Source,
			Origin: cur.origins[p.Name], Number: n, Entries: entriesOf(p), Hits: hits[n]}
		for _, u := range pl.Unresolved {
			if u.Policy == p.Name {
				st.Unresolved = append(st.Unresolved, u.Path)
			}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func entriesOf(p policy.Policy) map[string]int {
	out := map[string]int{}
	add := func(k string, n int) {
		if n > 0 {
			out[k] += n
		}
	}
	add("exec", len(p.Exec.Deny))
	add("sha256", len(p.Exec.DenySHA256))
	add("files", len(p.Files))
	for _, r := range p.Connect {
		add("connect", max(len(r.Ports), 1))
	}
	for _, r := range p.Bind {
		add("bind", max(len(r.Ports), 1))
	}
	add("packets", len(p.Packets.Drop))
	if p.Modules != nil {
		add("modules", 1)
		add("modules_allow", len(p.Modules.Allow))
	}
	return out
}

func actionName(a pinned.Action) event.Action {
	switch a {
	case pinned.ActionKilled:
		return event.ActionKilled
	case pinned.ActionWouldKill:
		return event.ActionWouldKill
	case pinned.ActionDenied:
		return event.ActionDenied
	case pinned.ActionWouldDeny:
		return event.ActionWouldDeny
	case pinned.ActionHeld:
		return "held"
	}
	return "unknown"
}

// PacketStats are the packet filter's counts per listed prefix.
type PacketStats struct {
	Prefix                    string
	Packets, Bytes            uint64
	WouldDrop, WouldDropBytes uint64
}

// Packets reads the packet filter's counters; nil when it is not loaded.
func (e *Enforcer) Packets() []PacketStats {
	e.mu.Lock()
	x := e.xdp
	e.mu.Unlock()
	if x == nil {
		return nil
	}
	stats, err := x.Stats()
	if err != nil {
		e.log.Warn("read packet counters", "err", err)
		return nil
	}
	out := make([]PacketStats, 0, len(stats))
	for _, s := range stats {
		out = append(out, PacketStats{Prefix: s.Prefix.String(), Packets: s.Packets, Bytes: s.Bytes,
			WouldDrop: s.WouldDrop, WouldDropBytes: s.WouldDropBytes})
	}
	return out
}
