// Package pinned owns enforcement's pinned kernel state: the directory under
// bpffs (/sys/fs/bpf/vigil by default) where every enforcement object's maps
// and links live so that enforcement survives the agent, the maps all those
// objects share (bpf/lib/enforce.bpf.h: which policies apply where, who is
// exempt, hit counters), and the loading and link-pinning rules every
// enforcement object follows.
package pinned

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfload"
)

// DefaultDir is where the agent pins enforcement state.
const DefaultDir = "/sys/fs/bpf/vigil"

// MaxPolicies is how many policies the kernel tells apart: their numbers
// are bits of a 64-bit mask.
const MaxPolicies = 64

// Action is what a program did, as enum enforce_action numbers it.
type Action = pinnedEnforceAction

// The actions, as the programs count them.
const (
	ActionKilled    = pinnedEnforceActionENFORCE_KILLED
	ActionWouldKill = pinnedEnforceActionENFORCE_WOULD_KILL
	ActionDenied    = pinnedEnforceActionENFORCE_DENIED
	ActionWouldDeny = pinnedEnforceActionENFORCE_WOULD_DENY
	ActionHeld      = pinnedEnforceActionENFORCE_HELD
	actionCount     = int(pinnedEnforceActionENFORCE_ACTION_COUNT)
)

// Verdict is the value of every deny entry: the policies (bit n = policy
// n) that block on the entry and those that only report it.
type Verdict = pinnedVerdict

// Hit is what a program decided; every enforcement record carries one.
type Hit = pinnedEnforceHit

// Config is the enforcement objects' shared settings.
type Config = pinnedEnforceState

// sharedMaps are the maps of bpf/lib/enforce.bpf.h.
type sharedMaps struct {
	Config *ebpf.Map `ebpf:"enforce_config"`
	Scopes *ebpf.Map `ebpf:"scope_cgroups"`
	Exempt *ebpf.Map `ebpf:"exempt_tgids"`
	Hits   *ebpf.Map `ebpf:"enforce_hits"`
	Slots  *ebpf.Map `ebpf:"policy_slots"`
	Seen   *ebpf.Map `ebpf:"enforce_seen"`
}

// State is the pin directory and its shared maps, open.
type State struct {
	dir  string
	maps sharedMaps
	// configMu serialises the read-modify-writes of enforce_config: the
	// heartbeat (pipeline goroutine) and policy changes (any goroutine)
	// each rewrite the whole value
	configMu sync.Mutex
}

// Open creates the pin directory if needed and opens the shared maps,
// creating and pinning them the first time, adopting them afterwards.
func Open(dir string) (*State, error) {
	spec, err := loadPinned()
	if err != nil {
		return nil, err
	}
	s := &State{dir: dir}
	if err := Load(dir, spec, nil, &s.maps); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir is the pin directory.
func (s *State) Dir() string { return s.dir }

// Close releases the descriptors; the pinned maps stay.
func (s *State) Close() error {
	var errs []error
	for _, m := range []*ebpf.Map{s.maps.Config, s.maps.Scopes, s.maps.Exempt, s.maps.Hits, s.maps.Slots, s.maps.Seen} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	return errors.Join(errs...)
}

// Load loads an enforcement object's collection against the pin directory,
// assigning into to as LoadAndAssign does: maps the object pins by name
// (its own deny maps and the shared ones) are reused when they exist. A map
// pinned by an earlier version whose layout no longer matches is unpinned
// and created anew, once: its entries are lost, and the agent writes the
// policies' entries again anyway.
func Load(dir string, spec *ebpf.CollectionSpec, opts *ebpf.CollectionOptions, to any) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pin directory: %w", err)
	}
	var o ebpf.CollectionOptions
	if opts != nil {
		o = *opts
	}
	o.Maps.PinPath = dir
	err := spec.LoadAndAssign(to, &o)
	if errors.Is(err, ebpf.ErrMapIncompatible) {
		if rerr := removeIncompatible(dir, spec); rerr != nil {
			return errors.Join(err, rerr)
		}
		err = spec.LoadAndAssign(to, &o)
	}
	if err != nil {
		return bpfload.Wrap("load", err)
	}
	return nil
}

// removeIncompatible unpins the maps of spec whose pinned twin differs.
func removeIncompatible(dir string, spec *ebpf.CollectionSpec) error {
	for name, ms := range spec.Maps {
		if ms.Pinning != ebpf.PinByName {
			continue
		}
		path := filepath.Join(dir, name)
		m, err := ebpf.LoadPinnedMap(path, nil)
		if err != nil {
			continue
		}
		info, ierr := m.Info()
		_ = m.Close() // only read from
		if ierr != nil {
			return ierr
		}
		if info.Type != ms.Type || info.KeySize != ms.KeySize || info.ValueSize != ms.ValueSize ||
			info.MaxEntries != ms.MaxEntries || info.Flags != ms.Flags {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("unpin incompatible map %s: %w", name, err)
			}
		}
	}
	return nil
}
