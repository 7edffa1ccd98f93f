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
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Kinds are the event kinds the sensor produces, as internal/event's table
// of kinds lists them; one Decoder handles all.
func Kinds() []event.Kind {
	return event.KindsOf(event.FamilyFile)
}

// Sensor holds the loaded collection, its attachments and the watch set
// the kernel holds.
type Sensor struct {
	coll    *ebpf.Collection
	links   []link.Link
	missing []string

	mu     sync.Mutex
	keys   map[string]uint32 // the trie's content
	slot   uint32            // the watch tree in use
	loaded bool              // a watch set was applied
}

// Load loads the sensor's programs, sharing r's ring buffer, sets the
// watch set from cfg and attaches the programs. Nothing is reported before
// Load returns.
func Load(r *ring.Ring, cfg Config) (*Sensor, error) {
	// the programs read the syscall arguments from x86-64 registers
	if runtime.GOARCH != "amd64" {
		return nil, fmt.Errorf("file sensor: supported on amd64 only, not %s", runtime.GOARCH)
	}
	compiled, err := cfg.withDefaults().compile(filepath.EvalSymlinks)
	if err != nil {
		return nil, err
	}
	// tracefs first: cilium/ebpf remembers a missing tracefs for the life
	// of the process
	if _, err := kernel.EnsureMounts(); err != nil {
		return nil, err
	}
	spec, err := loadFile()
	if err != nil {
		return nil, err
	}
	copts, err := r.CollectionOptions(spec)
	if err != nil {
		return nil, err
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, *copts)
	if err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("load file sensor: %+v", verr)
		}
		return nil, fmt.Errorf("load file sensor: %w", err)
	}
	s := &Sensor{coll: coll, keys: map[string]uint32{}}
	if err := s.apply(compiled); err != nil {
		_ = s.Close() // best effort: err is what failed
		return nil, err
	}
	if err := s.attach(spec); err != nil {
		_ = s.Close() // best effort: err is what failed
		return nil, err
	}
	return s, nil
}

// attach attaches every program to the tracepoint its section names
// ("tracepoint/syscalls/sys_exit_openat"). A system call this kernel does
// not have (fchmodat2 before 6.6) is listed by Missing.
func (s *Sensor) attach(spec *ebpf.CollectionSpec) error {
	names := make([]string, 0, len(spec.Programs))
	for name := range spec.Programs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ps := spec.Programs[name]
		group, tp, ok := strings.Cut(ps.AttachTo, "/")
		if ps.Type != ebpf.TracePoint || !ok {
			return fmt.Errorf("program %s: want a tracepoint, have %s %q", name, ps.Type, ps.AttachTo)
		}
		l, err := link.Tracepoint(group, tp, s.coll.Programs[name], nil)
		if errors.Is(err, os.ErrNotExist) {
			s.missing = append(s.missing, tp)
			continue
		}
		if err != nil {
			return fmt.Errorf("attach %s: %w", ps.AttachTo, err)
		}
		s.links = append(s.links, l)
	}
	return nil
}

// Missing lists the tracepoints this kernel lacks, whose calls go unseen.
func (s *Sensor) Missing() []string { return slices.Clone(s.missing) }

// Programs are the loaded programs by name (exit_openat, …), for their run
// statistics.
func (s *Sensor) Programs() map[string]*ebpf.Program { return maps.Clone(s.coll.Programs) }

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
	return s.apply(compiled)
}

// apply writes compiled tables into the kernel: new keys first, then the
// watch tree into the slot not in use, then the filter table (which
// switches to that tree), then stale keys out, so that a path watched
// before and after is never unwatched in between.
func (s *Sensor) apply(r rules) error {
	s.mu.Lock()
	defer s.mu.Unlock()
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

// Close detaches the programs and releases them.
func (s *Sensor) Close() error {
	var errs []error
	for _, l := range s.links {
		errs = append(errs, l.Close())
	}
	s.links = nil
	s.coll.Close()
	return errors.Join(errs...)
}
