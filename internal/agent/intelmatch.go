package agent

import (
	"context"
	"crypto/md5"  //nolint:gosec // MISP lists md5 digests: matched, never trusted
	"crypto/sha1" //nolint:gosec // likewise sha1
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/policy"
)

// annotate gives an alert of an intel policy (a kill or deny the kernel
// made, a would_kill from a hash) the provenance of the indicator that
// matched: the entry the enforce stage names is the indicator's value.
func (s *intelStage) annotate(al *event.Alert) {
	source, ok := strings.CutPrefix(al.Rule.Name, IntelPolicyName(""))
	if !ok || al.Event == nil || al.Event.Enforcement == nil || len(al.Intel) > 0 {
		return
	}
	set := s.set.Load().set
	ev, value := al.Event, al.Event.Enforcement.Rule
	var inds []*intel.Indicator
	typ := intel.TypeSHA256
	switch ev.Kind {
	case event.KindProcessExec:
		inds = set.Hash(intel.TypeSHA256, value)
	case event.KindNetConnect:
		typ = intel.TypeIP
		if ev.Network != nil {
			if a, err := netip.ParseAddr(ev.Network.DAddr); err == nil {
				inds = set.IP(a.Unmap(), ev.Network.DPort)
			}
		}
	}
	ms := matchesOf(inds, source)
	if len(ms) == 0 {
		// the set changed since the kernel acted: name the entry at least
		ms = []event.IntelMatch{{Source: source, Type: string(typ), Value: value}}
	}
	withProvenance(al, ms)
	s.hit(source, typ, al.Action)
}

// observe matches in user space what the kernel does not: a DNS query for
// a listed domain raises an alert at once; an exec is queued for hashing
// when a source lists md5, sha1 or sha512 digests. Pipeline goroutine.
func (a *Agent) observeIntel(ev *event.Event) {
	s := a.intel
	snap := s.set.Load()
	switch {
	case ev.Kind == event.KindDNSQuery && snap.domains && ev.DNS != nil:
		inds := snap.set.Domain(ev.DNS.Query)
		for _, source := range sourcesOf(inds) {
			if _, ok := a.intelGoverns(ev, source); !ok {
				continue
			}
			ms := matchesOf(inds, source)
			s.hit(source, intel.TypeDomain, event.ActionAlert)
			ok, held := s.dns.admit(dnsKey{process: processKey(ev.Process), source: source, name: ms[0].Value}, ev.Time)
			if !ok {
				continue // counted: the next alert of this process and name carries it
			}
			al := s.alert(ev, source, event.ActionAlert,
				fmt.Sprintf("DNS query for %s by %s (pid %d): listed by intel source %s", ev.DNS.Query,
					firstOf(ev.Process.Binary, ev.Process.Comm), ev.Process.PID, source))
			al.Suppressed = held
			withProvenance(al, ms)
			a.writeAlert(al)
		}
	case ev.Kind == event.KindProcessExec && len(snap.userHashes) > 0 && ev.Enforcement == nil && ev.Process != nil:
		s.hashes.queue(ev)
	}
}

// processKey names a process for the DNS alert throttle: its exec, or its
// pid when the event has no exec id.
func processKey(p *event.Process) string {
	if p == nil {
		return ""
	}
	if p.ExecID != "" {
		return p.ExecID
	}
	return fmt.Sprint(p.PID)
}

// intelGoverns says whether the source's policy governs ev's process and
// in which mode; without an enforce stage every process is, in monitor.
func (a *Agent) intelGoverns(ev *event.Event, source string) (policy.Mode, bool) {
	if a.enforcer == nil {
		return policy.Monitor, true
	}
	return a.enforcer.Governs(ev, IntelPolicyName(source))
}

func (s *intelStage) alert(ev *event.Event, source string, act event.Action, msg string) *event.Alert {
	sev := s.sources[source].Severity
	if sev == "" {
		sev = event.SeverityHigh
	}
	return &event.Alert{Time: ev.Time, Kind: event.KindAlert, Node: ev.Node,
		Rule:    event.RuleRef{Name: IntelPolicyName(source), Severity: sev, Tags: []string{"intel"}},
		Message: msg, Action: act, Event: ev}
}

// sourcesOf lists the sources of indicators, each once, in order.
func sourcesOf(inds []*intel.Indicator) []string {
	var out []string
	for _, ind := range inds {
		src := sourceOf(ind)
		dup := false
		for _, o := range out {
			dup = dup || o == src
		}
		if !dup {
			out = append(out, src)
		}
	}
	return out
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return "?"
}

// runIntelHashes hashes queued execs until ctx ends; a listed digest
// raises an alert, and in enforce mode the process is killed from user
// space (the kernel knows only sha256 digests, by inode once hashed).
func (a *Agent) runIntelHashes(ctx context.Context) {
	s := a.intel
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-s.hashes.jobs:
			snap := s.set.Load()
			sums, err := s.hashes.sums(ev.Process, snap.userHashes)
			if err != nil {
				continue // gone, or replaced: nothing to say of it
			}
			for _, t := range snap.userHashes {
				inds := snap.set.Hash(t, sums[t])
				for _, source := range sourcesOf(inds) {
					a.intelHashHit(ev, source, t, inds)
				}
			}
		}
	}
}

func (a *Agent) intelHashHit(ev *event.Event, source string, t intel.Type, inds []*intel.Indicator) {
	s := a.intel
	mode, ok := a.intelGoverns(ev, source)
	if !ok {
		return
	}
	cp := *ev // the event went out already: its copy carries the action
	act := event.ActionAlert
	if mode == policy.Enforce && a.enforcer != nil {
		a.enforcer.KillFor(&cp, IntelPolicyName(source), "agent ("+string(t)+" of an exec)")
		act = cp.Enforcement.Action
	}
	al := s.alert(&cp, source, act, fmt.Sprintf("exec of %s (pid %d): its %s is listed by intel source %s",
		firstOf(ev.Process.Binary, ev.Process.Filename), ev.Process.PID, t, source))
	withProvenance(al, matchesOf(inds, source))
	s.hit(source, t, act)
	select {
	case s.alerts <- al:
	default:
		a.log.Error("intel alert lost: the pipeline is behind", "source", source, "pid", ev.Process.PID)
	}
}

// drainIntel writes the alerts the hash worker raised; pipeline goroutine.
func (a *Agent) drainIntel() {
	if a.intel == nil {
		return
	}
	for {
		select {
		case al := <-a.intel.alerts:
			a.writeAlert(al)
		default:
			return
		}
	}
}

// binaryHashes computes the md5, sha1 and sha512 digests of executed
// binaries, through /proc/PID/exe, with a bounded cache keyed by the
// file's identity and version, so a binary is read once however often it
// runs. A full queue drops the exec, counted.
type binaryHashes struct {
	jobs     chan *event.Event
	dropped  atomic.Uint64
	computed atomic.Uint64
	mu       sync.Mutex
	max      int
	cache    map[fileVersionKey]map[intel.Type]string
}

type fileVersionKey struct {
	dev                       uint64
	ino                       uint64
	size, mtimeSec, mtimeNsec int64
	ctimeSec, ctimeNsec       int64
}

func newBinaryHashes(max int) *binaryHashes {
	return &binaryHashes{jobs: make(chan *event.Event, 1024), max: max,
		cache: map[fileVersionKey]map[intel.Type]string{}}
}

func (b *binaryHashes) queue(ev *event.Event) {
	select {
	case b.jobs <- ev:
	default:
		b.dropped.Add(1)
	}
}

// sums returns the digests of the binary p runs, as hex.
func (b *binaryHashes) sums(p *event.Process, types []intel.Type) (map[intel.Type]string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/exe", p.PID))
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, err
	}
	if x := p.Executable; x != nil && x.Inode != st.Ino {
		return nil, fmt.Errorf("pid %d runs another binary now", p.PID)
	}
	k := fileVersionKey{dev: st.Dev, ino: st.Ino, size: st.Size, mtimeSec: st.Mtim.Sec, mtimeNsec: st.Mtim.Nsec,
		ctimeSec: st.Ctim.Sec, ctimeNsec: st.Ctim.Nsec}
	b.mu.Lock()
	got := b.cache[k]
	b.mu.Unlock()
	if hasAll(got, types) {
		return got, nil
	}
	out, err := digests(f, types)
	if err != nil {
		return nil, err
	}
	b.computed.Add(1)
	b.mu.Lock()
	if len(b.cache) >= b.max {
		for old := range b.cache { // any one: a bounded cache, not an LRU
			delete(b.cache, old)
			break
		}
	}
	b.cache[k] = out
	b.mu.Unlock()
	return out, nil
}

func hasAll(m map[intel.Type]string, types []intel.Type) bool {
	if m == nil {
		return false
	}
	for _, t := range types {
		if _, ok := m[t]; !ok {
			return false
		}
	}
	return true
}

// digests reads r once into every hash of types.
func digests(r io.Reader, types []intel.Type) (map[intel.Type]string, error) {
	hs := map[intel.Type]hash.Hash{}
	var ws []io.Writer
	for _, t := range types {
		var h hash.Hash
		switch t {
		case intel.TypeMD5:
			h = md5.New() //nolint:gosec // matched against a feed, never trusted
		case intel.TypeSHA1:
			h = sha1.New() //nolint:gosec // likewise
		case intel.TypeSHA512:
			h = sha512.New()
		default:
			continue
		}
		hs[t] = h
		ws = append(ws, h)
	}
	if _, err := io.Copy(io.MultiWriter(ws...), r); err != nil {
		return nil, err
	}
	out := make(map[intel.Type]string, len(hs))
	for t, h := range hs {
		out[t] = hex.EncodeToString(h.Sum(nil))
	}
	return out, nil
}
