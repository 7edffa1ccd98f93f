// Package modguard owns the kernel-module block: kernel programs that kill
// (SIGKILL) a process which calls init_module or finit_module while a
// policy that blocks module loads governs it, report the attempt with its
// outcome, and the pinned map that says which policies block.
// Allowlists approve module files (SetAllowed): finit_module of one goes
// on, matched by (s_dev, i_ino), size and change time; init_module, an
// image in the caller's memory, is never approved.
//
// A kill at the call's entry takes effect when the call returns: on a
// kernel that supports modules the call runs to its end, so a valid module
// is loaded before its caller dies. Only a BPF LSM program (the LSM tier)
// can make the call fail; this kernel allows none. This kernel is built
// without modules, where both calls fail with ENOSYS anyway and the guard
// reports who tried.
package modguard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Modes, as Mode reports them.
const (
	ModeTracepoint = "tracepoint"
	ModeDispatcher = "sys_enter dispatcher"
)

// Options says where the guard's state lives and where it reports.
type Options struct {
	// PinDir is the enforcement pin directory (pinned.DefaultDir).
	PinDir string
	// Ring receives the guard's records.
	Ring *ring.Ring
	// Dispatcher uses the sys_enter dispatcher even where the kernel has
	// the calls' own tracepoints. Syscall tracepoints never show 32-bit
	// (compat) calls, so on x86-64 only the dispatcher also stops a
	// caller that uses "int $0x80"; it costs every system call ~80 ns.
	Dispatcher bool
}

// numbers are a GOARCH's numbers of the calls; -1 where it has none.
type numbers struct {
	init, finit             int64
	compatInit, compatFinit int64
	x32Bit                  int64
}

// syscallNumbers: asm/unistd_64.h, and for compat unistd_32.h. arm64's
// 32-bit (aarch32) calls are not watched.
var syscallNumbers = map[string]numbers{
	"amd64": {init: 175, finit: 313, compatInit: 128, compatFinit: 350, x32Bit: 0x40000000},
	"arm64": {init: 105, finit: 273, compatInit: -1, compatFinit: -1},
}

// Link names under the pin directory's links/.
var (
	tracepointLinks = []string{"modguard_enter_init_module", "modguard_enter_finit_module",
		"modguard_exit_init_module", "modguard_exit_finit_module"}
	dispatcherLinks = []string{"modguard_sys_enter", "modguard_sys_exit"}
	nameLink        = "modguard_module_load"
)

type maps struct {
	Block    *ebpf.Map `ebpf:"mod_block"`
	Allow    *ebpf.Map `ebpf:"mod_allow"`
	Inflight *ebpf.Map `ebpf:"mod_inflight"`
}

type tracepointObjects struct {
	maps
	EnterInit  *ebpf.Program `ebpf:"tp_enter_init_module"`
	EnterFinit *ebpf.Program `ebpf:"tp_enter_finit_module"`
	Exit       *ebpf.Program `ebpf:"tp_exit_module"`
}

type dispatcherObjects struct {
	maps
	Enter *ebpf.Program `ebpf:"dispatch_enter"`
	Exit  *ebpf.Program `ebpf:"dispatch_exit"`
}

type nameObjects struct {
	Load *ebpf.Program `ebpf:"on_module_load"`
}

// Guard is the loaded guard.
type Guard struct {
	dir      string
	mode     string
	maps     maps
	progs    map[string]*ebpf.Program
	links    []link.Link
	degraded string
}

// Load loads the guard against the pin directory, attaches it and pins its
// links, replacing (without a gap) those a previous agent pinned. The
// blocking verdict is the pinned one until SetBlock changes it.
func Load(opts Options) (*Guard, error) {
	if opts.Ring == nil || opts.PinDir == "" {
		return nil, errors.New("modguard: Options needs a Ring and a PinDir")
	}
	nrs, ok := syscallNumbers[runtime.GOARCH]
	if !ok {
		return nil, fmt.Errorf("modguard: no system call numbers for %s", runtime.GOARCH)
	}
	spec, err := kernel.LoadSpec(loadModguard)
	if err != nil {
		return nil, err
	}
	copts, err := bpfload.Prepare(opts.Ring, spec, map[string]any{
		modguardVarNrInitModule: nrs.init, modguardVarNrFinitModule: nrs.finit,
		modguardVarNrCompatInitModule: nrs.compatInit, modguardVarNrCompatFinitModule: nrs.compatFinit,
		modguardVarX32Bit: nrs.x32Bit,
	})
	if err != nil {
		return nil, err
	}
	g := &Guard{dir: opts.PinDir, mode: ModeDispatcher}
	if !opts.Dispatcher && haveTracepoints() {
		g.mode = ModeTracepoint
	}
	if err := g.load(spec, copts); err != nil {
		_ = g.Close() // best effort: err is what failed
		return nil, err
	}
	g.nameModules(spec, copts)
	return g, nil
}

func tracepointExists(group, name string) bool {
	_, err := os.Stat(filepath.Join(kernel.TraceFSPath, "events", group, name))
	return err == nil
}

func haveTracepoints() bool {
	for _, tp := range []string{"sys_enter_init_module", "sys_exit_init_module", "sys_enter_finit_module", "sys_exit_finit_module"} {
		if !tracepointExists("syscalls", tp) {
			return false
		}
	}
	return true
}

// load loads and attaches the mode's programs, then unpins the other
// mode's links, if an earlier agent pinned them: only after the new ones
// are in place, so that module loads are never unwatched meanwhile.
func (g *Guard) load(spec *ebpf.CollectionSpec, copts *ebpf.CollectionOptions) error {
	type attach struct {
		name string
		prog *ebpf.Program
		do   func() (link.Link, error)
	}
	var todo []attach
	stale := tracepointLinks
	if g.mode == ModeTracepoint {
		var o tracepointObjects
		if err := pinned.Load(g.dir, spec, copts, &o); err != nil {
			return fmt.Errorf("modguard: %w", err)
		}
		g.maps = o.maps
		g.progs = map[string]*ebpf.Program{
			modguardProgTpEnterInitModule: o.EnterInit, modguardProgTpEnterFinitModule: o.EnterFinit,
			modguardProgTpExitModule: o.Exit,
		}
		for i, tp := range []struct {
			event string
			prog  *ebpf.Program
		}{{"sys_enter_init_module", o.EnterInit}, {"sys_enter_finit_module", o.EnterFinit},
			{"sys_exit_init_module", o.Exit}, {"sys_exit_finit_module", o.Exit}} {
			todo = append(todo, attach{tracepointLinks[i], tp.prog, func() (link.Link, error) {
				return link.Tracepoint("syscalls", tp.event, tp.prog, nil)
			}})
		}
		stale = dispatcherLinks
	} else {
		var o dispatcherObjects
		if err := pinned.Load(g.dir, spec, copts, &o); err != nil {
			return fmt.Errorf("modguard: %w", err)
		}
		g.maps = o.maps
		g.progs = map[string]*ebpf.Program{modguardProgDispatchEnter: o.Enter, modguardProgDispatchExit: o.Exit}
		for i, p := range []*ebpf.Program{o.Enter, o.Exit} {
			todo = append(todo, attach{dispatcherLinks[i], p, func() (link.Link, error) {
				return link.AttachTracing(link.TracingOptions{Program: p})
			}})
		}
	}
	for _, a := range todo {
		l, err := a.do()
		if err != nil {
			return fmt.Errorf("attach %s: %w", a.name, err)
		}
		g.links = append(g.links, l)
		if err := pinned.PinLink(g.dir, a.name, l); err != nil {
			return err
		}
	}
	for _, name := range stale {
		if err := pinned.UnpinLink(g.dir, name); err != nil {
			return fmt.Errorf("unpin %s: %w", name, err)
		}
	}
	return nil
}

// nameModules attaches module/module_load, which a kernel without module
// support does not have, to name the module a watched call loads. Its
// failure costs the name, not the guard.
func (g *Guard) nameModules(spec *ebpf.CollectionSpec, copts *ebpf.CollectionOptions) {
	if !tracepointExists("module", "module_load") {
		return
	}
	copts.MapReplacements[modguardMapModInflight] = g.maps.Inflight
	var o nameObjects
	if err := pinned.Load(g.dir, spec, copts, &o); err != nil {
		g.degraded = fmt.Sprintf("module names: %v", err)
		return
	}
	g.progs[modguardProgOnModuleLoad] = o.Load
	l, err := link.Tracepoint("module", "module_load", o.Load, nil)
	if err == nil {
		g.links = append(g.links, l)
		err = pinned.PinLink(g.dir, nameLink, l)
	}
	if err != nil {
		g.degraded = fmt.Sprintf("module names: %v", err)
	}
}

// Mode says how the guard watches the calls: ModeTracepoint or
// ModeDispatcher.
func (g *Guard) Mode() string { return g.mode }

// Degraded says what the guard cannot do here that it would elsewhere,
// or "".
func (g *Guard) Degraded() string { return g.degraded }

// Programs are the loaded programs by name, for their run-time statistics.
func (g *Guard) Programs() map[string]*ebpf.Program {
	out := make(map[string]*ebpf.Program, len(g.progs))
	for k, v := range g.progs {
		out[k] = v
	}
	return out
}

// SetBlock says which policies block module loads (Enforce: the caller is
// killed) and which only report them (Monitor).
func (g *Guard) SetBlock(v pinned.Verdict) error {
	if err := g.maps.Block.Update(uint32(0), v, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("update mod_block: %w", err)
	}
	return nil
}

// MaxAllowed is how many module files allowlists may approve at once.
const MaxAllowed = 16384

// File is a module file as the kernel knows it at finit_module: s_dev
// (major<<20 | minor) and inode number.
type File struct {
	Dev uint32
	Ino uint64
}

// Approval is what approves a file: the policies (bit n, policy n) and the
// size and change time the file had when user space hashed it; a file
// whose size or change time differ at the call is not approved.
type Approval struct {
	Policies            uint64
	Size                uint64
	CtimeSec, CtimeNsec int64
}

// SetAllowed replaces the module files allowlists approve. Loads of
// them by finit_module go on under the approving policies; every other
// load is killed (or reported) as SetBlock says.
func (g *Guard) SetAllowed(want map[File]Approval) error {
	if len(want) > MaxAllowed {
		return fmt.Errorf("modguard: %d approved module files, at most %d fit", len(want), MaxAllowed)
	}
	entries := make(map[modguardInodeKey]modguardModAllowEntry, len(want))
	for f, a := range want {
		entries[modguardInodeKey{Ino: f.Ino, Dev: f.Dev}] = modguardModAllowEntry{Policies: a.Policies, Size: a.Size,
			CtimeSec: a.CtimeSec, CtimeNsec: uint32(a.CtimeNsec)}
	}
	if err := pinned.Reconcile(g.maps.Allow, entries); err != nil {
		return fmt.Errorf("modguard: %w", err)
	}
	return nil
}

// Close releases the guard's descriptors. The pinned links stay attached:
// the block outlives the agent until pinned.Remove.
func (g *Guard) Close() error {
	errs := bpfload.CloseLinks(g.links)
	g.links = nil
	for _, p := range g.progs {
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	g.progs = nil
	for _, m := range []*ebpf.Map{g.maps.Block, g.maps.Allow, g.maps.Inflight} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	return errors.Join(errs...)
}

// BlockMap is mod_block, for the LSM tier, which reads the same table.
func (g *Guard) BlockMap() *ebpf.Map { return g.maps.Block }
