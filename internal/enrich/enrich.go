// Package enrich gives each decoded event its context: the process as the
// process tree knows it, its parent and ancestors, its container and a
// stable exec id. It reads only in-memory caches, never blocking the event
// path on I/O.
package enrich

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/vigil-sec/vigil/internal/binfact"
	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/procfs"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/username"
)

// Enricher is the enrichment stage. Not safe for concurrent use.
type Enricher struct {
	node       string
	tree       *proctree.Tree
	containers *container.Resolver
	vigil      FileKey          // zero: no process is marked as vigil's
	binaries   *binfact.Checker // nil: no binary facts
	users      *username.Names  // nil: no user names
}

// FileKey names a file as the kernel reports it: device (major<<20 |
// minor) and inode.
type FileKey struct {
	Dev   uint32
	Inode uint64
}

// SetVigil says which executable is vigil's own: processes running it are
// marked Process.IsVigil, which rules use to leave vigil's own work alone.
// Only the file's identity counts, never its name or path, so a copy or a
// program named vigil is not marked. Call it before Seed.
func (e *Enricher) SetVigil(exe FileKey) { e.vigil = exe }

// markVigil sets p.IsVigil when p runs vigil's executable.
func (e *Enricher) markVigil(p *event.Process) {
	x := p.Executable
	p.IsVigil = x != nil && e.vigil.Inode != 0 && x.Inode == e.vigil.Inode && x.Dev == e.vigil.Dev
}

// SetBinaryFacts makes the stage judge every executed file with c
// (Process.BinaryTrusted, BinaryPackage). Call it before Seed.
func (e *Enricher) SetBinaryFacts(c *binfact.Checker) { e.binaries = c }

// markBinary sets the facts of the file p runs. A fork's copy of its
// parent keeps the parent's, as it runs the same file.
func (e *Enricher) markBinary(p *event.Process) {
	if e.binaries == nil {
		return
	}
	f := e.binaries.Of(p.PID, p.Binary, p.Executable)
	p.BinaryTrusted, p.BinaryPackage = f.Trusted, f.Package
	p.LoadedProgram = binfact.LoadedProgram(p.Binary, p.Args, p.Cwd)
}

// SetUserNames makes the stage name each process's user (Process.User)
// with n. Call it before Seed.
func (e *Enricher) SetUserNames(n *username.Names) { e.users = n }

// markUser names p's real uid from p's own /etc/passwd. A fork's copy of
// its parent keeps the parent's, as it has the same uid.
func (e *Enricher) markUser(p *event.Process) {
	if e.users != nil {
		p.User = e.users.Of(p.PID, p.UID, p.Namespaces.Mnt)
	}
}

// New wires the stage to its caches. node names this host in every event.
func New(node string, tree *proctree.Tree, containers *container.Resolver) *Enricher {
	return &Enricher{node: node, tree: tree, containers: containers}
}

// RecoverFrom lets the process tree read a process it lost (its fork and
// exec were dropped, or it was evicted) from /proc when an event's lineage
// needs it; such a process is marked Recovered.
func (e *Enricher) RecoverFrom(opts procfs.Options) {
	e.tree.SetRecover(func(pid uint32) *event.Process {
		p, ok := procfs.Read(opts, int(pid))
		if !ok {
			return nil
		}
		p.ExecID = ExecID(e.node, p.PID, p.StartTime)
		p.Recovered = true
		e.bindContainer(p)
		e.markVigil(p)
		e.markBinary(p)
		e.markUser(p)
		return p
	})
}

// Seed stores processes that existed before the sensors started (from a
// snapshot), so that their children's events carry ancestry.
func (e *Enricher) Seed(procs []*event.Process) {
	byPID := make(map[uint32]*event.Process, len(procs))
	for _, p := range procs {
		p.ExecID = ExecID(e.node, p.PID, p.StartTime)
		e.bindContainer(p)
		e.markVigil(p)
		e.markBinary(p)
		e.markUser(p)
		byPID[p.PID] = p
	}
	for _, p := range procs {
		// linked before they are stored: stored processes do not change
		if parent := byPID[p.PPID]; parent != nil && parent != p && !parent.StartTime.After(p.StartTime) {
			p.ParentExecID = parent.ExecID
		}
	}
	for _, p := range procs {
		e.tree.Put(p)
	}
}

// Enrich completes ev in place. It returns false for events that only feed
// the caches (forks) and are not passed on.
func (e *Enricher) Enrich(ev *event.Event) bool {
	ev.Node = e.node
	switch {
	case ev.Enforcement != nil:
		// a record of what a policy did: it names the process, whose
		// exec (if any) the process sensor reported first
		e.resolveEnforced(ev)
	case ev.Kind == event.KindProcessExec:
		p := ev.Process
		p.ExecID = ExecID(e.node, p.PID, ev.Time)
		e.bindContainer(p)
		e.markVigil(p)
		e.markBinary(p)
		e.markUser(p)
		if parent := e.tree.Parent(p); parent != nil {
			p.ParentExecID = parent.ExecID
		}
		e.tree.Put(p)
	case ev.Kind == event.KindProcessRename:
		e.rename(ev)
	case ev.Kind == event.KindProcessFork:
		child := ev.Process
		child.ExecID = ExecID(e.node, child.PID, child.StartTime)
		e.tree.Fork(child)
		return false
	default:
		e.resolveProcess(ev)
		e.resolveTarget(ev)
		e.nameAskedUser(ev)
	}
	ev.Parent, ev.Ancestors = e.tree.Lineage(ev.Process)
	if ev.Kind == event.KindProcessExit {
		e.tree.Exit(ev.Process.PID, ev.Time)
	}
	return true
}

// bindContainer gives a process that is about to be stored its container:
// the value known now, and the reference through which the tree keeps it
// current as metadata arrives (see proctree's rebind).
func (e *Enricher) bindContainer(p *event.Process) {
	p.ContainerRef = e.containers.Bind(p.Cgroup.Path)
	p.Container = p.ContainerRef.Load()
}

// resolveEnforced takes the tree's process for an enforcement record's,
// unless the tree's is another image than the one the record names (the
// exec was not seen): then the record's stays, partial, with the tree's
// lineage and container.
func (e *Enricher) resolveEnforced(ev *event.Event) {
	bare := ev.Process
	known := e.tree.Get(bare.PID)
	if known == nil {
		bare.Partial = true
		bare.Container = e.containers.Resolve(bare.Cgroup.Path)
		e.markVigil(bare)
		return
	}
	if x := bare.Executable; ev.Kind != event.KindProcessExec || x == nil ||
		known.Executable != nil && known.Executable.Inode == x.Inode && known.Executable.Dev == x.Dev {
		ev.Process = known
		return
	}
	bare.Partial = true
	e.markVigil(bare)
	bare.PPID, bare.ParentExecID, bare.Container = known.PPID, known.ParentExecID, known.Container
	bare.Cgroup, bare.Namespaces, bare.Comm = known.Cgroup, known.Namespaces, known.Comm
	bare.UID, bare.EUID, bare.GID, bare.EGID = known.UID, known.EUID, known.GID, known.EGID
}

// resolveProcess swaps the bare process a record carries (pid, tid) for
// the tree's. A process the tree never saw stays partial.
func (e *Enricher) resolveProcess(ev *event.Event) {
	bare := ev.Process
	if known := e.tree.Get(bare.PID); known != nil {
		ev.Process = known
		return
	}
	bare.Partial = true
	if bare.Container == nil {
		bare.Container = e.containers.Resolve(bare.Cgroup.Path)
	}
	e.markVigil(bare)
}

// rename gives the process its new comm: the tree's copy from now on, so
// that its later events carry it; one the tree does not know stays partial.
func (e *Enricher) rename(ev *event.Event) {
	comm := ev.Process.Comm
	if renamed := e.tree.Rename(ev.Process.PID, comm); renamed != nil {
		ev.Process = renamed
		return
	}
	e.resolveProcess(ev) // the bare process: partial, comm from the record
}

// Expire lets the tree forget processes whose grace period has passed.
func (e *Enricher) Expire(now time.Time) { e.tree.Expire(now) }

// ExecID identifies one process image across the cluster and across pid
// reuse: the node, the pid and the time the image started.
// It is computed for every exec and fork: on the stack for common node
// names, with one allocation (the string) in all.
func ExecID(node string, pid uint32, start time.Time) string {
	var raw [96]byte
	var enc [128]byte // base64 of raw: 4 bytes for every 3
	b := append(raw[:0], node...)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(pid), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, start.UnixNano(), 10)
	var out []byte
	if n := base64.RawURLEncoding.EncodedLen(len(b)); n <= len(enc) {
		out = enc[:n]
	} else {
		out = make([]byte, n) // a node name of over 60 bytes
	}
	base64.RawURLEncoding.Encode(out, b)
	return string(out)
}
