// Package fileguard owns the file-protection mechanism: a kernel program at
// the exit of every open call that kills (SIGKILL) a process which opened a
// protected inode, or a file below a protected directory, for an access a
// policy forbids, and the pinned map of protected inodes it reads.
//
// This kernel cannot refuse an open (no BPF LSM), so protection is "detect
// and kill": the opening thread never runs another instruction and never
// reads a byte through the descriptor, but the open has happened. O_CREAT
// leaves an empty file behind, O_TRUNC leaves the file empty
// (docs/policies.md says so to users). And the descriptor exists from the
// moment the open installs it until the SIGKILL is queued, at the exit of
// the same call: another thread of the process, already running and
// guessing the number, can read or write through it in that window (a
// fraction of a microsecond); once the kill is queued, the page-cache read
// and write loops give up between pages (EINTR).
//
// The decision uses the kernel's own struct file of the returned
// descriptor: its inode (device, number) and the inodes of the directories
// above it. Symlinks, hardlinks, "..", bind mounts and renames therefore
// lead to the same decision. What the guard does not see: opens through
// io_uring (IORING_OP_OPENAT runs no open syscall), and changes that need
// no open at all (truncate(2), unlink, rename, chmod); the file sensor
// reports those.
package fileguard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
)

// MaxEntries is how many inodes file_protect holds.
const MaxEntries = 16384

// Options says where the guard's state lives and where it reports.
type Options struct {
	// PinDir is the enforcement pin directory (pinned.DefaultDir).
	PinDir string
	// Ring receives the guard's records.
	Ring *ring.Ring
}

// InodeKey names a file as the kernel does: its inode number and its
// superblock's device in the kernel's encoding (major<<20 | minor), which
// differs from the encoding stat(2) returns.
type InodeKey struct {
	Dev uint32
	Ino uint64
}

func (k InodeKey) String() string { return fmt.Sprintf("%d:%d/%d", k.Dev>>20, k.Dev&(1<<20-1), k.Ino) }

// Entry says which policies protect an inode, per access.
type Entry struct {
	// Subtree makes a directory's entry protect everything below it too,
	// through mount points.
	Subtree bool
	// Write applies to opens that write: for writing, with O_TRUNC, or
	// creating the file. Read applies to opens for reading.
	Write, Read pinned.Verdict
}

// tracepoints are the calls the guard watches, with their programs.
var tracepoints = []struct {
	call string // syscalls/sys_exit_<call>
	prog string
}{
	{"open", fileguardProgGuardOpen},
	{"openat", fileguardProgGuardOpenat},
	{"openat2", fileguardProgGuardOpenat2},
	{"creat", fileguardProgGuardCreat},
	{"open_by_handle_at", fileguardProgGuardOpenByHandleAt},
}

// Guard is the loaded guard.
type Guard struct {
	dir     string
	objs    fileguardObjects
	links   []link.Link
	missing []string
	hooks   []string
	mu      sync.Mutex // serialises SetProtected
}

// Load loads the guard's programs against the pin directory, attaches them
// and pins their links, replacing (without a gap) those a previous agent
// pinned. The protected set is the pinned one: an agent that restarts finds
// it as it was and only reconciles it.
func Load(opts Options) (*Guard, error) {
	if opts.Ring == nil || opts.PinDir == "" {
		return nil, errors.New("fileguard: Options needs a Ring and a PinDir")
	}
	spec, err := kernel.LoadSpec(loadFileguard)
	if err != nil {
		return nil, err
	}
	copts, err := bpfload.Prepare(opts.Ring, spec, map[string]any{fileguardVarResolveTgid: uint32(os.Getpid())})
	if err != nil {
		return nil, err
	}
	g := &Guard{dir: opts.PinDir}
	if err := pinned.Load(opts.PinDir, spec, copts, &g.objs); err != nil {
		return nil, fmt.Errorf("fileguard: %w", err)
	}
	if err := g.attach(); err != nil {
		_ = g.Close() // best effort: err is what failed
		return nil, err
	}
	return g, nil
}

// LinkName is the name a program's link is pinned under.
func LinkName(call string) string { return "fileguard_" + call }

func (g *Guard) attach() error {
	progs := g.Programs()
	for _, tp := range tracepoints {
		if _, err := os.Stat(filepath.Join(kernel.TraceFSPath, "events", "syscalls", "sys_exit_"+tp.call)); err != nil {
			g.missing = append(g.missing, tp.call)
			continue
		}
		l, err := link.Tracepoint("syscalls", "sys_exit_"+tp.call, progs[tp.prog], nil)
		if err != nil {
			return fmt.Errorf("attach syscalls/sys_exit_%s: %w", tp.call, err)
		}
		g.links = append(g.links, l)
		g.hooks = append(g.hooks, "sys_exit_"+tp.call)
		if err := pinned.PinLink(g.dir, LinkName(tp.call), l); err != nil {
			return err
		}
	}
	return nil
}

// Missing lists the open calls this kernel has no tracepoint for.
func (g *Guard) Missing() []string { return append([]string(nil), g.missing...) }

// Hooks names the tracepoints the guard is attached to.
func (g *Guard) Hooks() []string { return append([]string(nil), g.hooks...) }

// Programs are the loaded programs by name, for their run-time statistics.
func (g *Guard) Programs() map[string]*ebpf.Program {
	return map[string]*ebpf.Program{
		fileguardProgGuardOpen:           g.objs.GuardOpen,
		fileguardProgGuardOpenat:         g.objs.GuardOpenat,
		fileguardProgGuardOpenat2:        g.objs.GuardOpenat2,
		fileguardProgGuardCreat:          g.objs.GuardCreat,
		fileguardProgGuardOpenByHandleAt: g.objs.GuardOpenByHandleAt,
		fileguardProgResolveFds:          g.objs.ResolveFds,
	}
}

// SetProtected makes the kernel protect exactly want. Entries that stay
// are not rewritten, so their protection never lapses; while the set
// changes, the summary the programs check first covers both the old and
// the new set.
func (g *Guard) SetProtected(want map[InodeKey]Entry) error {
	if len(want) > MaxEntries {
		return fmt.Errorf("fileguard: %d protected inodes, at most %d fit", len(want), MaxEntries)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	entries := make(map[fileguardInodeKey]fileguardProtectEntry, len(want))
	next := fileguardGuardState{Entries: uint32(len(want))}
	for k, e := range want {
		var v fileguardProtectEntry
		v.Write.Enforce, v.Write.Monitor = e.Write.Enforce, e.Write.Monitor
		v.Read.Enforce, v.Read.Monitor = e.Read.Enforce, e.Read.Monitor
		if e.Subtree {
			v.Flags = uint32(fileguardProtectFlagPROTECT_SUBTREE)
			next.Subtrees++
		}
		next.WritePolicies |= e.Write.Enforce | e.Write.Monitor
		next.ReadPolicies |= e.Read.Enforce | e.Read.Monitor
		entries[fileguardInodeKey{Ino: k.Ino, Dev: k.Dev}] = v
	}
	var prev fileguardGuardState
	if err := g.objs.FileState.Lookup(uint32(0), &prev); err != nil {
		return fmt.Errorf("read file_state: %w", err)
	}
	during := fileguardGuardState{
		Entries:       max(prev.Entries, next.Entries),
		Subtrees:      max(prev.Subtrees, next.Subtrees),
		WritePolicies: prev.WritePolicies | next.WritePolicies,
		ReadPolicies:  prev.ReadPolicies | next.ReadPolicies,
	}
	if err := g.objs.FileState.Update(uint32(0), &during, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("update file_state: %w", err)
	}
	if err := pinned.Reconcile(g.objs.FileProtect, entries); err != nil {
		return fmt.Errorf("fileguard: %w", err)
	}
	if err := g.objs.FileState.Update(uint32(0), &next, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("update file_state: %w", err)
	}
	return nil
}

// Close releases the guard's descriptors. The pinned links stay attached:
// protection outlives the agent until pinned.Remove (or UnpinLink).
func (g *Guard) Close() error {
	errs := bpfload.CloseLinks(g.links)
	g.links = nil
	errs = append(errs, g.objs.Close())
	return errors.Join(errs...)
}

// ProtectMap is file_protect, for the LSM tier, which reads the same table.
func (g *Guard) ProtectMap() *ebpf.Map { return g.objs.FileProtect }
