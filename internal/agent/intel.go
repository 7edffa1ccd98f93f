package agent

import (
	"cmp"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/enforce"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/policy"
)

// IntelConfig configures the intel stage: the config file's `intel:`
// section, with the --intel sources.
type IntelConfig struct {
	config.Intel
	// Options tune the feeds (tests give an HTTP client); the agent sets
	// the logger and the metrics.
	Options intel.Options
}

// intelStage turns each set of indicators into one generated policy per
// source (intel.<name>) for the enforce stage, and matches in user space
// what the kernel cannot: md5/sha1 of executed binaries, DNS names.
// Every alert it touches gets the indicators' provenance.
type intelStage struct {
	cfg     IntelConfig
	feed    *intel.Manager
	sources map[string]intel.SourceConfig
	set     atomic.Pointer[intelSnapshot]
	alerts  chan *event.Alert // raised off the pipeline goroutine
	hashes  *binaryHashes
	dns     *dnsThrottle
	// applied says how the last set fared in the enforce stage
	mu       sync.Mutex
	applyErr string
	applies  uint64
	// applyFailures counts the sets the enforce stage refused
	applyFailures uint64
	// planned says every source's policy is in the enforce stage: a
	// refresh then replaces only its source's (applyIntel's goroutines
	// are the manager's, one refresh at a time)
	planned bool
	hits    map[intelHitKey]uint64
}

// intelSnapshot is a set and what the event path needs to know of it.
type intelSnapshot struct {
	set *intel.Set
	// userHashes are the digest types matched in user space: md5, sha1
	// and sha512 (sha256 goes to the exec guard)
	userHashes []intel.Type
	domains    bool
}

type intelHitKey struct{ source, typ, action string }

// IntelPolicyName is the policy a source's indicators become.
func IntelPolicyName(source string) string { return config.IntelPolicyPrefix + source }

// newIntelStage checks the sources and makes their feeds; nothing is
// fetched before Run.
func newIntelStage(c IntelConfig, log *slog.Logger) (*intelStage, error) {
	opts := c.Options
	opts.Logger = log.With("stage", "intel")
	feed, err := intel.NewManager(c.Sources, opts)
	if err != nil {
		return nil, err
	}
	s := &intelStage{cfg: c, feed: feed, sources: map[string]intel.SourceConfig{}, alerts: make(chan *event.Alert, 256),
		hits: map[intelHitKey]uint64{}}
	for _, sc := range c.Sources {
		s.sources[sc.Name] = sc
	}
	s.hashes = newBinaryHashes(4096)
	s.dns = newDNSThrottle(dnsAlertEvery, dnsAlertKeys)
	s.set.Store(snapshotOf(feed.Current()))
	return s, nil
}

func snapshotOf(set *intel.Set) *intelSnapshot {
	snap := &intelSnapshot{set: set}
	loaded := map[intel.Type]int{}
	for _, st := range set.Sources() {
		for t, n := range st.Loaded {
			loaded[t] += n
		}
	}
	for _, t := range []intel.Type{intel.TypeMD5, intel.TypeSHA1, intel.TypeSHA512} {
		if loaded[t] > 0 {
			snap.userHashes = append(snap.userHashes, t)
		}
	}
	snap.domains = loaded[intel.TypeDomain] > 0
	return snap
}

// intelPolicies makes one policy per configured source that has
// indicators the kernel acts on: its sha256 digests (held and hashed at
// first exec, killed in enforce mode; hashed after the fact and reported
// in monitor mode), its addresses and prefixes (connect and sendmsg
// refused, packets dropped on the configured interfaces). Each entry is
// named by the indicator's value, so that the agent finds its provenance
// again when the kernel reports a hit.
func intelPolicies(set *intel.Set, in config.Intel, sources []intel.SourceConfig) []policy.Policy {
	out := make([]policy.Policy, 0, len(sources))
	for _, sc := range sources {
		// kept when empty: its number and scope tell the user-space
		// matches (md5, domains) where and how they act
		out = append(out, intelPolicy(set, in, sc))
	}
	return out
}

// intelPolicy is one source's policy, from its indicators alone.
func intelPolicy(set *intel.Set, in config.Intel, sc intel.SourceConfig) policy.Policy {
	p := policy.Policy{Name: IntelPolicyName(sc.Name), Mode: sc.Mode, Severity: sc.Severity,
		Description: "indicators of intel source " + sc.Name, Tags: []string{"intel"}, Scope: in.Scope,
		Source: sc.Source}
	set.EachOf(sc.Name, intel.TypeSHA256, func(ind *intel.Indicator) bool {
		if sourceOf(ind) == sc.Name {
			p.Exec.DenySHA256 = append(p.Exec.DenySHA256, policy.HashRule{
				Entry: policy.Entry{Name: ind.Value, Source: p.Source}, SHA256: ind.Value})
		}
		return true
	})
	set.EachOf(sc.Name, intel.TypeIP, func(ind *intel.Indicator) bool {
		if sourceOf(ind) != sc.Name || !ind.Prefix.IsValid() {
			return true
		}
		e := policy.Entry{Name: ind.Value, Source: p.Source}
		r := policy.NetRule{Entry: e, Prefix: ind.Prefix.Masked()}
		if ind.Port != 0 {
			r.Ports = []uint16{ind.Port}
		}
		p.Connect = append(p.Connect, r)
		if ind.Port == 0 && len(in.Interfaces) > 0 {
			p.Packets.Drop = append(p.Packets.Drop, policy.PrefixRule{Entry: e, Prefix: ind.Prefix.Masked()})
		}
		return true
	})
	p.Exec.HoldUnknown = p.Mode == policy.Enforce && len(p.Exec.DenySHA256) > 0
	if len(p.Packets.Drop) > 0 {
		p.Packets.Interfaces = in.Interfaces
	}
	return p
}

func sourceOf(ind *intel.Indicator) string {
	if ind.Prov == nil {
		return ""
	}
	return ind.Prov.Source
}

// startIntel subscribes the enforce stage to the feeds and applies the
// set in force now (empty: the feeds run in Run).
func (a *Agent) startIntel() {
	if a.intel == nil {
		return
	}
	a.applyIntel(a.intel.feed.Current())
	a.intel.feed.Subscribe(a.applyIntel)
}

// applyIntel takes a new set: the event path reads it at once, and the
// kernel's tables get its indicators. When the enforce stage refuses
// them, the previous indicators stay in force in the kernel and the error
// is reported (vigil intel stats, the log).
func (a *Agent) applyIntel(set *intel.Set) {
	s := a.intel
	s.set.Store(snapshotOf(set))
	if a.enforcer == nil {
		return
	}
	var err error
	if sc, ok := s.sources[set.Changed()]; ok && s.planned {
		// one source refreshed: only its policy is planned and written
		err = a.enforcer.Replace(enforce.OriginIntel, intelPolicy(set, s.cfg.Intel, sc))
	} else {
		err = a.enforcer.Set(enforce.OriginIntel, intelPolicies(set, s.cfg.Intel, s.cfg.Sources))
		s.planned = err == nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applies++
	s.applyErr = ""
	if err != nil {
		s.applyErr = err.Error()
		s.applyFailures++
		a.log.Error("intel indicators not applied; the previous ones stay in force", "err", err)
	}
}

func (s *intelStage) applyFailureCount() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applyFailures
}

// maxPacketPrefixes is intel.max_packet_prefixes (0: sized by the enforce
// stage from the first set).
func (a *Agent) maxPacketPrefixes() int {
	if a.cfg.Intel == nil {
		return 0
	}
	return a.cfg.Intel.MaxPacketPrefixes
}

// hit counts an indicator's hit for vigil_intel_hits_total.
func (s *intelStage) hit(source string, t intel.Type, action event.Action) {
	s.mu.Lock()
	s.hits[intelHitKey{source, string(t), string(action)}]++
	s.mu.Unlock()
}

// IntelHit is one count of vigil_intel_hits_total.
type IntelHit struct {
	Source, Type, Action string
	Count                uint64
}

func (s *intelStage) hitCounts() []IntelHit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]IntelHit, 0, len(s.hits))
	for k, n := range s.hits {
		out = append(out, IntelHit{Source: k.source, Type: k.typ, Action: k.action, Count: n})
	}
	slices.SortFunc(out, func(a, b IntelHit) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Action, b.Action))
	})
	return out
}

// matchesOf turns indicators (of one source, or all when source is "")
// into an alert's provenance, at most event.MaxIntelMatches.
func matchesOf(inds []*intel.Indicator, source string) []event.IntelMatch {
	var out []event.IntelMatch
	for _, ind := range inds {
		if source != "" && sourceOf(ind) != source {
			continue
		}
		if len(out) == event.MaxIntelMatches {
			break
		}
		m := event.IntelMatch{Type: string(ind.Type), Value: ind.Value}
		if p := ind.Prov; p != nil {
			m.Source, m.EventUUID, m.EventInfo, m.AttributeUUID = p.Source, p.EventUUID, p.EventInfo, p.AttributeUUID
			m.AttributeType, m.AttributeValue, m.Tags, m.Techniques = p.AttributeType, p.Value, p.Tags, p.Techniques
		}
		out = append(out, m)
	}
	return out
}

// withProvenance adds the matches to an alert: intel, and the MITRE
// techniques of their events.
func withProvenance(al *event.Alert, ms []event.IntelMatch) {
	al.Intel = ms
	seen := map[string]bool{}
	for _, t := range al.Rule.MITRE {
		seen[t] = true
	}
	for _, m := range ms {
		for _, t := range m.Techniques {
			if !seen[t] {
				seen[t] = true
				al.Rule.MITRE = append(al.Rule.MITRE, t)
			}
		}
	}
}
