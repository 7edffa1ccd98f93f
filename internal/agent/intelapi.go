package agent

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/policy"
)

// intelAPI is what the local API may ask of the intel stage: nothing
// without sources.
func (a *Agent) intelAPI() api.Intel {
	if a.intel == nil {
		return nil
	}
	return a
}

// IntelReport is the API's list and stats.
func (a *Agent) IntelReport() api.IntelReport {
	s := a.intel
	rep := api.IntelReport{Indicators: s.set.Load().set.Len(), Interfaces: s.cfg.Interfaces,
		Scope: s.cfg.Scope.String(), Hashed: s.hashes.computed.Load(), HashDropped: s.hashes.dropped.Load()}
	s.mu.Lock()
	rep.ApplyError, rep.ApplyFailures = s.applyErr, s.applyFailures
	s.mu.Unlock()
	rep.DNSSuppressed = s.dns.suppressedTotal()
	rep.Packets = a.intelPackets()
	for _, st := range s.feed.Status() {
		sc := s.sources[st.Name]
		src := api.IntelSource{Name: st.Name, Kind: string(st.Kind), URL: st.URL, Mode: string(st.Mode),
			Severity: string(sc.Severity), Policy: IntelPolicyName(st.Name), Source: sc.Source,
			Interval: sc.Interval.String(), Loaded: map[string]int{}, LastAttempt: st.LastAttempt,
			LastSuccess: st.LastSuccess, LastError: st.LastError, Refreshes: st.Refreshes, Failures: st.Failures,
			Unchanged: st.Unchanged, Bytes: st.Bytes}
		for t, n := range st.Loaded {
			src.Loaded[string(t)] = n
		}
		rep.Sources = append(rep.Sources, src)
	}
	for _, h := range s.hitCounts() {
		rep.Hits = append(rep.Hits, api.IntelHitCount(h))
	}
	return rep
}

// intelPackets gives the packet filter's counts of the prefixes intel
// sources listed, each with the indicator (and its provenance) that put it
// there; prefixes that counted nothing are left out.
func (a *Agent) intelPackets() []api.IntelPacketCount {
	if a.enforcer == nil {
		return nil
	}
	set := a.intel.set.Load().set
	var out []api.IntelPacketCount
	for _, ps := range a.enforcer.Packets() {
		if ps.Packets == 0 && ps.WouldDrop == 0 {
			continue
		}
		p, err := netip.ParsePrefix(ps.Prefix)
		if err != nil {
			continue
		}
		for _, ind := range set.IP(p.Addr(), 0) {
			if ind.Port != 0 || ind.Prefix.Masked() != p.Masked() {
				continue // a wider or narrower prefix, or one port only
			}
			out = append(out, api.IntelPacketCount{Prefix: ps.Prefix, Dropped: ps.Packets, WouldDrop: ps.WouldDrop,
				Intel: matchesOf([]*intel.Indicator{ind}, "")[0]})
		}
	}
	return out
}

// IntelRefresh is the API's refresh: the named source ("" all) now.
func (a *Agent) IntelRefresh(ctx context.Context, name string) error {
	return a.intel.feed.Refresh(ctx, name)
}

// IntelCheck is the API's check: what value is read as, and which
// indicators of the set in force it hits, with what each would do.
func (a *Agent) IntelCheck(value string) api.IntelCheck {
	s := a.intel
	set := s.set.Load().set
	out := api.IntelCheck{Value: value, Matches: []api.IntelCheckMatch{}}
	as, key, addr, port := readIOC(value)
	out.As, out.Port = string(as), port
	var inds []*intel.Indicator
	switch as {
	case intel.TypeIP:
		inds = set.IP(addr, port)
	case intel.TypeDomain:
		inds = set.Domain(key)
	default:
		inds = set.Hash(as, key)
	}
	for _, ind := range inds {
		ms := matchesOf([]*intel.Indicator{ind}, "")
		out.Matches = append(out.Matches, api.IntelCheckMatch{IntelMatch: ms[0], Mode: string(ind.Mode),
			Action: s.actionOf(ind)})
	}
	return out
}

// actionOf says what a hit of ind does, in words.
func (s *intelStage) actionOf(ind *intel.Indicator) string {
	enforce := ind.Mode == policy.Enforce
	switch ind.Type {
	case intel.TypeSHA256:
		if enforce {
			return "kill at exec (kernel: held at its first exec, hashed, killed; then by inode)"
		}
		return "would_kill alert (hashed after the exec)"
	case intel.TypeMD5, intel.TypeSHA1, intel.TypeSHA512:
		if enforce {
			return "kill after the exec (user space: the kernel knows only sha256)"
		}
		return "alert (hashed after the exec)"
	case intel.TypeIP:
		act := "would_deny alert for connect and sendmsg"
		if enforce {
			act = "deny connect and sendmsg (kernel, EPERM)"
		}
		if ind.Port == 0 && len(s.cfg.Interfaces) > 0 {
			if enforce {
				act += "; drop packets from it on " + strings.Join(s.cfg.Interfaces, ", ") + " (XDP)"
			} else {
				act += "; count would-drop packets on " + strings.Join(s.cfg.Interfaces, ", ")
			}
		}
		return act
	case intel.TypeDomain:
		return "alert on a DNS query for it (user space)"
	}
	return "alert"
}

// readIOC reads a value the way a feed would list it: a digest by its
// length, an address (with a port: 192.0.2.1:443, [2001:db8::1]:443), a
// URL (its host), or a domain.
func readIOC(v string) (t intel.Type, key string, addr netip.Addr, port uint16) {
	v = strings.TrimSpace(v)
	if isHex(v) {
		switch len(v) {
		case 32:
			return intel.TypeMD5, strings.ToLower(v), addr, 0
		case 40:
			return intel.TypeSHA1, strings.ToLower(v), addr, 0
		case 64:
			return intel.TypeSHA256, strings.ToLower(v), addr, 0
		case 128:
			return intel.TypeSHA512, strings.ToLower(v), addr, 0
		}
	}
	host := v
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
		host = u.Host
	}
	if h, p, err := net.SplitHostPort(host); err == nil {
		if n, err := strconv.ParseUint(p, 10, 16); err == nil {
			host, port = h, uint16(n)
		}
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return intel.TypeIP, a.String(), a.Unmap(), port
	}
	return intel.TypeDomain, strings.TrimSuffix(strings.ToLower(host), "."), addr, port
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
