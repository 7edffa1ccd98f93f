// Package file is the file sensor: opens (open, openat, openat2, creat),
// unlink, rename, chmod, chown, link, symlink, truncate, mkdir and
// memfd_create. Each system call has one classic tracepoint, at its exit,
// so that calls it does not watch pay nothing beyond the kernel's
// per-syscall tracepoint check. Which paths are reported is decided in the
// kernel, from tables the Config compiles to, before any ring buffer space
// is reserved: an open of an unwatched path never reaches user space.
package file

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// Kinds are the event kinds the sensor produces, as internal/event's table
// of kinds lists them; one Decoder handles all.
func Kinds() []event.Kind {
	return event.KindsOf(event.FamilyFile)
}

// Sensor holds the loaded collection, its attachments and the watch set
// the kernel holds.
type Sensor struct {
	*bpfload.Loaded

	missing []string // Loaded.Missing, kept for Degraded

	mu         sync.Mutex
	coll       *ebpf.Collection
	keys       map[string]uint32 // the trie's content
	slot       uint32            // the watch tree in use
	loaded     bool              // a watch set was applied
	aliasPaths map[string]uint32 // files watched by identity too
	aliases    map[fileFileId]fileAlias
	stop, done chan struct{} // the alias refresh loop's
}

// Load loads the sensor's programs, sharing r's ring buffer, sets the
// watch set from cfg and attaches the programs. Nothing is reported before
// Load returns. A system call this kernel has no tracepoint for (fchmodat2
// before 6.6) is listed by Missing.
func Load(r *ring.Ring, cfg Config) (*Sensor, error) {
	// the programs read the syscall arguments from x86-64 registers
	if runtime.GOARCH != "amd64" {
		return nil, fmt.Errorf("file sensor: supported on amd64 only, not %s", runtime.GOARCH)
	}
	compiled, err := cfg.withDefaults().compile(filepath.EvalSymlinks)
	if err != nil {
		return nil, err
	}
	spec, err := kernel.LoadSpec(loadFile)
	if err != nil {
		return nil, err
	}
	s := &Sensor{keys: map[string]uint32{}, aliases: map[fileFileId]fileAlias{}}
	s.Loaded, err = bpfload.Load(r, bpfload.Object{
		Name: "file sensor", Spec: spec, Optional: true,
		Setup: func(coll *ebpf.Collection) error {
			s.coll = coll
			if err := s.apply(compiled); err != nil {
				return err
			}
			return s.refreshAliases()
		},
	})
	if err != nil {
		return nil, err
	}
	s.missing = s.Loaded.Missing()
	if period := cfg.AliasRefresh; period >= 0 {
		if period == 0 {
			period = DefaultAliasRefresh
		}
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.refreshLoop(period, s.stop, s.done)
	}
	return s, nil
}

// Close stops the alias refresh and detaches the programs.
func (s *Sensor) Close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	return s.Loaded.Close()
}

// Missing lists the tracepoints this kernel lacks, whose calls go unseen.
func (s *Sensor) Missing() []string { return slices.Clone(s.missing) }

// Describe is the file sensor as the agent runs it.
func Describe(cfg Config) sensor.Description {
	return sensor.Description{Name: "file", Load: func(env sensor.Env) (sensor.Sensor, map[uint16]sensor.Decode, error) {
		decs, err := sensor.ByKind(Kinds(), Decoder{Clock: env.Clock}.Decode)
		if err != nil {
			return nil, nil, fmt.Errorf("file sensor: %w", err)
		}
		s, err := Load(env.Ring, cfg)
		if err != nil {
			return nil, nil, err
		}
		if missing := s.Missing(); len(missing) > 0 {
			env.Log.Warn("file sensor: this kernel lacks some system calls; they go unseen", "tracepoints", missing)
		}
		return s, decs, nil
	}}
}

// Degraded says which system calls go unseen because this kernel has no
// tracepoint for them (fchmodat2 before Linux 6.6), or "" when every one
// is watched.
func (s *Sensor) Degraded() string {
	if len(s.missing) == 0 {
		return ""
	}
	calls := make([]string, len(s.missing))
	for i, tp := range s.missing {
		calls[i] = strings.TrimPrefix(tp, "sys_exit_")
	}
	return fmt.Sprintf("no tracepoint for %s: those calls go unseen", strings.Join(calls, ", "))
}

// Update replaces the watch set. On error the kernel keeps the old one.
func (s *Sensor) Update(cfg Config) error {
	compiled, err := cfg.withDefaults().compile(filepath.EvalSymlinks)
	if err != nil {
		return err
	}
	if err := s.apply(compiled); err != nil {
		return err
	}
	return s.refreshAliases()
}

// apply writes compiled tables into the kernel: new keys first, then the
// watch tree into the slot not in use, then the filter table (which
// switches to that tree), then stale keys out, so that a path watched
// before and after is never unwatched in between.
func (s *Sensor) apply(r rules) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aliasPaths = r.aliasPaths
	trie := s.coll.Maps[fileMapWatch]
	for k, ops := range r.keys {
		if old, ok := s.keys[k]; ok && old == ops {
			continue
		}
		if err := trie.Put(watchKey(k), ops); err != nil {
			return fmt.Errorf("watch %q: %w", strings.TrimRight(k, "\x00"), err)
		}
		s.keys[k] = ops
	}
	slot := s.slot
	if s.loaded {
		slot ^= 1
	}
	if err := s.coll.Maps[fileMapTrees].Put(slot, &r.tree); err != nil {
		return fmt.Errorf("set file watch tree: %w", err)
	}
	r.conf.TreeSlot = slot
	if err := s.coll.Maps[fileMapFilter].Put(uint32(0), &r.conf); err != nil {
		return fmt.Errorf("set file filter: %w", err)
	}
	s.slot, s.loaded = slot, true
	for k := range s.keys {
		if _, ok := r.keys[k]; ok {
			continue
		}
		if err := trie.Delete(watchKey(k)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("unwatch %q: %w", strings.TrimRight(k, "\x00"), err)
		}
		delete(s.keys, k)
	}
	return nil
}

func watchKey(k string) *fileWatchKey {
	key := &fileWatchKey{Prefixlen: uint32(len(k) * 8)}
	copy(key.Data[:], k)
	return key
}
