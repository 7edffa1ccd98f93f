// Package execguard blocks the execution of denied binaries: a blocked
// binary never runs its first instruction.
//
// No hook on this kernel can fail an exec, so the kernel side
// (execguard.bpf.c) acts at sched_process_exec, between the new image's
// set-up and its first instruction: SIGKILL for a denied file, SIGSTOP for a
// file a hash-hold policy wants hashed first. Files are matched by the
// kernel's (s_dev, i_ino) of the executed file, so symlinks and hardlinks
// cannot bypass an entry. A copy is a new inode: under a hash-hold policy,
// user space receives a KIND_EXEC_HOLD record, hashes the stopped process's
// executable (Hasher) and Releases it, continued or killed; a binary found
// clean is marked known (MarkKnown) and not held again while its mtime,
// ctime and size stay the same. #! scripts are matched by their own inode
// at sched_prepare_exec (see execguard_script).
//
// Holds fail open: the kernel holds only while the agent's heartbeat is
// fresh, each hold carries a kernel timer (hold_expire) that continues the
// process once the heartbeat has gone stale, so a dead agent never leaves
// it stopped, and an agent restarted before then finds the processes its
// predecessor left stopped in exec_held (Held). Every fail-open is counted
// (Expiry), and none is silent for an agent that lives but was slow: an
// exec not held for a stale heartbeat still sends a hold record
// (Hold.NotHeld), and Decide says when a verdict came after the process
// ran, so that a denied hash is killed late, from user space. A held process continued by
// anyone else is killed (execguard_cont); the kill is deferred by the
// kernel, so the process may run a few instructions first. A stopped child
// is reported to its parent's wait(WUNTRACED): job-control shells show a
// held foreground command as "Stopped", so hash-hold policies suit services
// and containers better than interactive shells. A tracer (ptrace) can also
// resume a held process without SIGCONT.
package execguard

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/bpfload"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Options say where the guard's state lives and where it reports.
type Options struct {
	// Dir is the pin directory; empty means pinned.DefaultDir.
	Dir string
	// Ring is the agent's ring buffer, which the programs write into.
	Ring *ring.Ring
}

// Guard is the loaded exec guard. Its programs stay attached through pinned
// links after Close, so that enforcement survives the agent.
type Guard struct {
	dir    string
	objs   execguardObjects
	links  []link.Link
	closed bool
}

// Load loads the guard's programs against the pin directory (adopting the
// deny, known and held maps an earlier agent pinned), attaches them and
// pins their links in place of an earlier agent's.
func Load(opts Options) (*Guard, error) {
	if opts.Ring == nil {
		return nil, errors.New("execguard: Options.Ring is required")
	}
	dir := opts.Dir
	if dir == "" {
		dir = pinned.DefaultDir
	}
	spec, err := loadExecguard()
	if err != nil {
		return nil, err
	}
	copts, err := bpfload.Prepare(opts.Ring, spec, nil)
	if err != nil {
		return nil, err
	}
	// before pinned.Load unpins an older exec_held, whose processes
	// would stay stopped with nothing to find them
	if err := continueOldHolds(dir); err != nil {
		return nil, fmt.Errorf("exec guard: %w", err)
	}
	g := &Guard{dir: dir}
	if err := pinned.Load(dir, spec, copts, &g.objs); err != nil {
		return nil, fmt.Errorf("exec guard: %w", err)
	}
	// the SIGCONT guard first: a hold must never be unguarded. The link
	// pins are named after the programs.
	for _, name := range LinkNames() {
		if err := g.attach(name, g.Programs()[name]); err != nil {
			_ = g.Close() // best effort: err is what failed
			return nil, err
		}
	}
	return g, nil
}

// LinkNames are the names the guard's links are pinned under.
func LinkNames() []string {
	return []string{execguardProgExecguardCont, execguardProgExecguardScript, execguardProgExecguardExec}
}

func (g *Guard) attach(name string, prog *ebpf.Program) error {
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		return fmt.Errorf("attach %s: %w", name, err)
	}
	g.links = append(g.links, l)
	if err := pinned.PinLink(g.dir, name, l); err != nil {
		return err
	}
	return nil
}

// Close releases the guard's descriptors. The pinned links keep the
// programs attached: enforcement goes on until pinned.Remove.
func (g *Guard) Close() error {
	if g.closed {
		return nil
	}
	g.closed = true
	errs := bpfload.CloseLinks(g.links)
	g.links = nil
	errs = append(errs, g.objs.Close())
	return errors.Join(errs...)
}

// Programs names the guard's BPF programs, for their run-time statistics.
func (g *Guard) Programs() map[string]*ebpf.Program {
	return map[string]*ebpf.Program{
		execguardProgExecguardExec:   g.objs.ExecguardExec,
		execguardProgExecguardScript: g.objs.ExecguardScript,
		execguardProgExecguardCont:   g.objs.ExecguardCont,
	}
}
