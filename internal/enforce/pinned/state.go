package pinned

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/percpu"
)

// ReadConfig returns the shared settings as the kernel sees them.
func (s *State) ReadConfig() (Config, error) {
	var c Config
	err := s.maps.Config.Lookup(uint32(0), &c)
	return c, err
}

// SetPolicies says which policies are host-wide and which hold unknown
// binaries for hashing, and whether any policy is scoped to a cgroup.
func (s *State) SetPolicies(host, hashHold uint64, scoped bool) error {
	s.configMu.Lock()
	defer s.configMu.Unlock()
	c, err := s.ReadConfig()
	if err != nil {
		return fmt.Errorf("read enforce_config: %w", err)
	}
	c.Host, c.HashHold, c.Scoped = host, hashHold, 0
	if scoped {
		c.Scoped = 1
	}
	return s.maps.Config.Update(uint32(0), &c, ebpf.UpdateAny)
}

// Heartbeat tells the kernel the agent is alive now. Programs that would
// wait for the agent (holding a binary for hashing) only do so while the
// heartbeat is fresh, so a dead agent never leaves processes stopped.
func (s *State) Heartbeat() error {
	s.configMu.Lock()
	defer s.configMu.Unlock()
	c, err := s.ReadConfig()
	if err != nil {
		return err
	}
	c.HeartbeatNs = uint64(kernel.BootNanos())
	return s.maps.Config.Update(uint32(0), &c, ebpf.UpdateAny)
}

// SetScopes makes scope_cgroups hold exactly want: cgroup v2 id → the
// policies scoped to that cgroup.
func (s *State) SetScopes(want map[uint64]uint64) error {
	return reconcile(s.maps.Scopes, want)
}

// Scopes reads scope_cgroups: cgroup v2 id → the policies scoped there.
func (s *State) Scopes() (map[uint64]uint64, error) {
	out := map[uint64]uint64{}
	var id, mask uint64
	it := s.maps.Scopes.Iterate()
	for it.Next(&id, &mask) {
		out[id] = mask
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("iterate scope_cgroups: %w", err)
	}
	return out, nil
}

// SetExempt makes exempt_tgids hold exactly these processes.
func (s *State) SetExempt(tgids []uint32) error {
	want := make(map[uint32]uint32, len(tgids))
	for _, t := range tgids {
		want[t] = 1
	}
	return reconcile(s.maps.Exempt, want)
}

// HitCount is how often a policy's programs did one thing.
type HitCount struct {
	Policy int
	Action Action
	Count  uint64
}

// Hits sums the per-CPU hit counters; zero counts are left out.
func (s *State) Hits() ([]HitCount, error) {
	sums, err := percpu.Sums(s.maps.Hits, MaxPolicies*uint32(actionCount))
	if err != nil {
		return nil, fmt.Errorf("read enforce_hits: %w", err)
	}
	var out []HitCount
	for key, sum := range sums {
		if sum > 0 {
			out = append(out, HitCount{Policy: key / actionCount, Action: Action(key % actionCount), Count: sum})
		}
	}
	return out, nil
}

// ResetHits zeroes one policy's counters, for a policy number given to a
// new policy.
func (s *State) ResetHits(policy int) error {
	zero := make([]uint64, ebpf.MustPossibleCPU())
	var errs []error
	for a := range actionCount {
		errs = append(errs, s.maps.Hits.Update(uint32(policy*actionCount+a), zero, ebpf.UpdateAny),
			s.maps.Seen.Update(uint32(policy*actionCount+a), uint64(0), ebpf.UpdateAny))
	}
	return errors.Join(errs...)
}

// MarkSeen records hits (as Hits read them) as what this agent has
// accounted for: Unseen subtracts them.
func (s *State) MarkSeen(hits []HitCount) error {
	seen := make([]uint64, MaxPolicies*actionCount)
	for _, h := range hits {
		seen[h.Policy*actionCount+int(h.Action)] = h.Count
	}
	keys := make([]uint32, len(seen))
	for i := range keys {
		keys[i] = uint32(i)
	}
	if _, err := s.maps.Seen.BatchUpdate(keys, seen, nil); err != nil {
		// batch operations on arrays came in 5.6: one by one
		for i, n := range seen {
			if err := s.maps.Seen.Update(uint32(i), n, ebpf.UpdateAny); err != nil {
				return fmt.Errorf("write enforce_seen: %w", err)
			}
		}
	}
	return nil
}

// Unseen is what the kernel counted beyond the last MarkSeen: what
// pinned policies did while no agent ran (or after the last agent's last
// reading). A policy number whose hits were reset since counts from zero.
func (s *State) Unseen(hits []HitCount) ([]HitCount, error) {
	var out []HitCount
	for _, h := range hits {
		var seen uint64
		if err := s.maps.Seen.Lookup(uint32(h.Policy*actionCount+int(h.Action)), &seen); err != nil {
			return nil, fmt.Errorf("read enforce_seen: %w", err)
		}
		if h.Count > seen {
			out = append(out, HitCount{Policy: h.Policy, Action: h.Action, Count: h.Count - seen})
		}
	}
	return out, nil
}

// reconcile makes a hash map hold exactly want, writing only what differs,
// so that entries that stay never blink out while they are rewritten.
func reconcile[K comparable, V comparable](m *ebpf.Map, want map[K]V) error {
	var (
		k K
		v V
	)
	have := make(map[K]V)
	it := m.Iterate()
	for it.Next(&k, &v) {
		have[k] = v
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("iterate %s: %w", m, err)
	}
	return ReconcileFrom(m, have, want)
}

// ReconcileFrom makes m hold want when it holds have (what the caller
// wrote last): it writes the entries of want that differ from have and
// deletes those of have that want lacks, and touches no other entry nor
// reads the map. Its caller must be the map's only writer.
func ReconcileFrom[K comparable, V comparable](m *ebpf.Map, have, want map[K]V) error {
	var (
		stale []K
		errs  []error
	)
	for k := range have {
		if _, ok := want[k]; !ok {
			stale = append(stale, k)
		}
	}
	for k, v := range want {
		if old, ok := have[k]; ok && old == v {
			continue
		}
		if err := m.Update(k, v, ebpf.UpdateAny); err != nil {
			errs = append(errs, fmt.Errorf("update %s: %w", m, err))
		}
	}
	for _, k := range stale {
		if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("delete from %s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// Reconcile makes any enforcement hash map hold exactly want (keys and
// values as the map's generated Go types), writing only what differs.
func Reconcile[K comparable, V comparable](m *ebpf.Map, want map[K]V) error {
	return reconcile(m, want)
}
