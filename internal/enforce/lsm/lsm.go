// Package lsm is the BPF LSM tier of enforcement: hooks that refuse a
// denied exec, a protected open and a module load with -EPERM, where the
// kernel runs BPF LSM programs (CONFIG_BPF_LSM, "bpf" in lsm=). It reads
// the kill tier's tables, so the same policies drive both. It loads in a
// collection of its own: on a kernel without BPF LSM (the project's CI
// kernel refuses every LSM program with EPERM) the load fails and nothing
// else is affected.
package lsm

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Options are the tables the hooks read and where to pin their links.
type Options struct {
	PinDir string
	Ring   *ring.Ring
	// ExecDeny, FileProtect and ModBlock are the kill tier's tables
	// (execguard, fileguard, modguard).
	ExecDeny, FileProtect, ModBlock *ebpf.Map
}

// Tier is the loaded and attached LSM programs.
type Tier struct {
	objs lsmObjects
}

// ErrUnavailable says this kernel does not run BPF LSM programs.
var ErrUnavailable = errors.New("this kernel does not run BPF LSM programs")

// Load loads and attaches the hooks, pinning their links.
func Load(opts Options) (*Tier, error) {
	if opts.ExecDeny == nil || opts.FileProtect == nil || opts.ModBlock == nil {
		return nil, errors.New("lsm: the exec, file and module guards must be loaded first")
	}
	spec, err := loadLsm()
	if err != nil {
		return nil, err
	}
	copts, err := bpfload.Prepare(opts.Ring, spec, nil)
	if err != nil {
		return nil, err
	}
	for name, m := range map[string]*ebpf.Map{"exec_deny": opts.ExecDeny, "file_protect": opts.FileProtect, "mod_block": opts.ModBlock} {
		// the spec only describes the table's layout; its size and flags
		// are the kill tier's
		info, err := m.Info()
		if err != nil {
			return nil, fmt.Errorf("lsm: %s: %w", name, err)
		}
		spec.Maps[name].MaxEntries, spec.Maps[name].Flags = info.MaxEntries, info.Flags
		copts.MapReplacements[name] = m
	}
	t := &Tier{}
	if err := pinned.Load(opts.PinDir, spec, copts, &t.objs); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	for name, prog := range t.Programs() {
		l, err := link.AttachLSM(link.LSMOptions{Program: prog})
		if err == nil {
			err = pinned.PinLink(opts.PinDir, name, l)
			_ = l.Close() // the pin holds the attachment now
		}
		if err != nil {
			_ = t.Close() // best effort: err is what failed
			return nil, fmt.Errorf("%w: attach %s: %w", ErrUnavailable, name, err)
		}
	}
	return t, nil
}

// Sync has nothing to do: the hooks read the kill tier's tables.
func (t *Tier) Sync() error { return nil }

// Programs names the hooks' programs.
func (t *Tier) Programs() map[string]*ebpf.Program {
	return map[string]*ebpf.Program{
		lsmProgLsmExec:       t.objs.LsmExec,
		lsmProgLsmOpen:       t.objs.LsmOpen,
		lsmProgLsmModuleFile: t.objs.LsmModuleFile,
		lsmProgLsmModuleData: t.objs.LsmModuleData,
	}
}

// LinkNames are the names the hooks' links are pinned under.
func LinkNames() []string {
	return []string{lsmProgLsmExec, lsmProgLsmOpen, lsmProgLsmModuleFile, lsmProgLsmModuleData}
}

// Close releases the descriptors; pinned links stay.
func (t *Tier) Close() error { return t.objs.Close() }
