package enforce

import (
	"encoding/hex"
	"errors"
	"os"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/execguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
)

// job is work the pipeline hands off because it does I/O: hashing a
// binary seen executed, resolving paths again. Holds have a queue of
// their own (Enforcer.holds), served first.
type job struct {
	learn   *learnJob // a binary seen executed, to hash (no hold)
	resolve bool      // resolve every deny path again
}

// learnJob is an exec the kernel did not hold (hold_unknown off): its
// binary is hashed after the fact.
type learnJob struct {
	ev   *event.Event
	hold execguard.Hold
}

// worker runs the jobs, one at a time, until Close: a held process first,
// so that it never waits behind the hashes of binaries executed elsewhere.
func (e *Enforcer) worker() {
	defer e.wg.Done()
	for {
		select {
		case <-e.stop:
			return
		case h := <-e.holds:
			e.decideHold(h)
			continue
		default:
		}
		select {
		case <-e.stop:
			return
		case h := <-e.holds:
			e.decideHold(h)
		case j := <-e.work:
			switch {
			case j.learn != nil:
				e.learn(j.learn)
			case j.resolve:
				e.resolveAgain()
			}
		}
	}
}

// Hold takes a KIND_EXEC_HOLD record: the kernel stopped a process before
// its first instruction so that its binary can be hashed, or (NotHeld)
// let it run because the heartbeat was stale, and asks for a late verdict.
// A hold that cannot be queued is released at once (fail open) and
// counted.
func (e *Enforcer) Hold(raw []byte) {
	h, err := execguard.DecodeHold(raw)
	if err != nil {
		e.log.Warn("malformed hold record", "err", err)
		return
	}
	if !h.NotHeld {
		e.counts.Holds.Add(1)
	}
	select {
	case e.holds <- h:
	default:
		e.counts.HoldOverflow.Add(1)
		if e.exec != nil && !h.NotStopped {
			if err := e.exec.Release(h, false); err != nil && !errors.Is(err, execguard.ErrGone) {
				e.log.Warn("release a hold the queue had no room for", "pid", h.PID, "err", err)
			}
		}
	}
}

// decideHold hashes a held process's binary and kills or continues it. A
// process the kernel let run (its hold expired, or it was never held) is
// killed late, from user space, if its hash is denied, and counted.
func (e *Enforcer) decideHold(h execguard.Hold) {
	if e.exec == nil {
		return
	}
	sum, err := e.hasher.Hash(h)
	if err != nil {
		// not the held file any more (gone, re-exec'd): nothing to decide
		if rerr := e.exec.Release(h, false); rerr != nil && !errors.Is(rerr, execguard.ErrGone) {
			e.log.Warn("release held process", "pid", h.PID, "err", rerr)
		}
		return
	}
	pl := e.cur.Load().plan
	hexsum := hex.EncodeToString(sum[:])
	v, denied := pl.Hashes[hexsum]
	enforce, monitor := v.Enforce&h.Policies, v.Monitor&h.Policies
	kill := denied && enforce != 0
	if !denied || enforce == 0 && monitor == 0 {
		// clean for every policy that held it: remember, so it is not
		// held again
		if err := e.exec.MarkKnown(h.Key, h.Stamp); err != nil {
			e.log.Warn("remember a hashed binary", "err", err)
		}
	}
	// where it was executed from, read while the held process still is
	exe, _ := os.Readlink("/proc/" + itoa(h.PID) + "/exe")
	held, relErr := e.exec.Decide(h, kill)
	if !held {
		e.counts.HoldsLate.Add(1)
	}
	if !denied || enforce == 0 && monitor == 0 {
		return
	}
	if kill {
		e.counts.HoldsKilled.Add(1)
		// the next exec of this inode dies in the kernel, unheld
		e.denyInode(Inode{Dev: uint64(h.Key.Dev), Ino: h.Key.Ino}, hexsum, exe)
	}
	n := int(lowestBit(enforce | monitor))
	if enforce != 0 {
		n = int(lowestBit(enforce))
	}
	ev := &event.Event{Time: e.cfg.Clock.Time(h.HeldAt), Kind: event.KindProcessExec,
		Process: &event.Process{PID: h.PID, TID: h.TID, Filename: h.Filename,
			Executable: &event.FileID{Dev: h.Key.Dev, Inode: h.Key.Ino}, Cgroup: event.Cgroup{ID: h.CgroupID}},
		Enforcement: &event.Enforcement{PolicyID: n, Mechanism: event.MechanismKernel, Hook: execguard.HookExec + " (held, sha256)"}}
	if !held {
		// the kernel failed open: the process ran before the verdict
		ev.Enforcement.Mechanism = event.MechanismUserspace
		ev.Enforcement.Hook = "agent (sha256 of an exec the kernel " + lateWhy(h) + ")"
	}
	ev.Enforcement.Action = event.ActionWouldKill
	if kill && relErr == nil {
		ev.Enforcement.Action = event.ActionKilled
	}
	if relErr != nil {
		ev.Enforcement.Error = relErr.Error()
	}
	e.emitHash(ev, pl, n, hexsum)
}

// lateWhy says why the kernel let a process run before its verdict.
func lateWhy(h execguard.Hold) string {
	switch {
	case h.NotHeld:
		return "did not hold: the agent's heartbeat was stale"
	case h.NotStopped:
		return "could not stop"
	}
	return "held, then continued: the agent's heartbeat went stale"
}

// emitHash names a hash verdict and hands the alert to the pipeline.
func (e *Enforcer) emitHash(ev *event.Event, pl *Plan, n int, hexsum string) {
	p := policyOf(pl, n)
	ev.Enforcement.Policy = p.Name
	var ref entryRef
	for _, r := range pl.hashNames[hexsum] {
		if r.policy == p.Name {
			ref = r
			ev.Enforcement.Rule = r.entry.Name
		}
	}
	select {
	case e.alerts <- alertFor(ev, p, ref):
	default:
		e.log.Error("enforcement alert lost: the pipeline is behind", "policy", p.Name, "pid", ev.Process.PID)
	}
}

// denyInode remembers that the binary at path (this inode) has a denied
// hash, and applies the set again: every plan denies the inodes of the
// copies found so far, in the kernel, so their next exec dies unheld.
func (e *Enforcer) denyInode(ino Inode, hexsum, path string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if l, ok := e.learned[ino]; ok && l.sha256 == hexsum {
		return
	}
	e.learned[ino] = learnedCopy{sha256: hexsum, path: path}
	if err := e.apply(e.origins); err != nil {
		e.log.Error("deny a copy found by its hash", "path", path, "err", err)
	}
}

// learn hashes a binary the kernel let run unheld; a denied hash is killed
// from user space and its inode denied in the kernel from then on.
func (e *Enforcer) learn(j *learnJob) {
	// the version of the file the hash is cached under: the running
	// executable's, as the kernel holds it for hold records
	fi, err := os.Stat("/proc/" + itoa(j.hold.PID) + "/exe")
	if err != nil {
		return // gone already
	}
	j.hold.Stamp = stampOf(fi)
	sum, err := e.hasher.Hash(j.hold)
	if err != nil {
		return
	}
	pl := e.cur.Load().plan
	hexsum := hex.EncodeToString(sum[:])
	v, denied := pl.Hashes[hexsum]
	if !denied {
		return
	}
	mine := e.policiesOf(j.ev) & (v.Enforce | v.Monitor)
	if mine == 0 {
		return
	}
	ev := j.ev
	n := int(lowestBit(mine))
	ev.Enforcement = &event.Enforcement{PolicyID: n, Action: event.ActionWouldKill,
		Mechanism: event.MechanismUserspace, Hook: "agent (sha256 of an exec)"}
	if v.Enforce&mine != 0 {
		n = int(lowestBit(v.Enforce & mine))
		ev.Enforcement.PolicyID = n
		e.killUserspace(ev)
		e.denyInode(Inode{Dev: uint64(j.hold.Key.Dev), Ino: j.hold.Key.Ino}, hexsum, ev.Process.Binary)
	}
	e.emitHash(ev, pl, n, hexsum)
}

// releaseLeftHolds continues or decides the processes a previous agent left
// held (it died between the hold and its verdict).
func (e *Enforcer) releaseLeftHolds() error {
	if e.exec == nil {
		return nil
	}
	held, err := e.exec.Held()
	if err != nil {
		return err
	}
	for _, h := range held {
		// no policy set yet: continue them; a denied hash is caught by
		// the exec guard's next hold or, unheld, by hash learning
		if err := e.exec.Release(h, false); err != nil && !errors.Is(err, execguard.ErrGone) {
			e.log.Warn("release a process left held", "pid", h.PID, "err", err)
		}
	}
	if len(held) > 0 {
		e.log.Info("released processes a previous agent left held", "count", len(held))
	}
	// what the kernel's hold timers did while no agent answered (counted
	// since the pins were made, so across agents)
	st, err := e.exec.Expiry()
	if err != nil {
		return err
	}
	if st.Expired > 0 || st.NotHeld > 0 {
		e.log.Info("execs the kernel let run unhashed because no agent answered (since the pins were made)",
			"expired", st.Expired, "not_held", st.NotHeld, "retried_signals", st.Retried)
	}
	return nil
}

// HoldExpiry is what the kernel's fail-open did, counted in the pinned
// exec_hold_expiry since the pins were made (across agents); ok is false
// without the exec guard.
func (e *Enforcer) HoldExpiry() (st execguard.ExpiryStats, ok bool) {
	if e.exec == nil {
		return st, false
	}
	st, err := e.exec.Expiry()
	if err != nil {
		e.log.Warn("read the hold expiry counters", "err", err)
		return st, false
	}
	return st, true
}

// HeartbeatEvery is how often Tick refreshes the heartbeat the kernel's
// holds wait on (fresh: younger than HOLD_HEARTBEAT_NS, execguard.bpf.c).
// The pipeline calls Tick at
// least every ring.Config.IdleInterval (1 s) when idle and every few
// milliseconds when busy: so the heartbeat is at most about a second old
// while the pipeline runs, which leaves the rest of the bound as margin
// for a starved agent.
const HeartbeatEvery = 250 * time.Millisecond

// pruneEvery is how often Tick deletes the exec_held entries of processes
// that are gone.
const pruneEvery = time.Second

// ResolveEvery is how often Tick resolves the deny paths again, the first
// time one period after New.
const ResolveEvery = 30 * time.Second

// Tick does the periodic work, from the pipeline goroutine (it beats only
// while the pipeline reads the ring, which hold records come through): the
// heartbeat (a dead agent must never leave processes held), exec_held
// pruned, and the deny paths resolved again every ResolveEvery.
func (e *Enforcer) Tick(now time.Time) {
	if now.Sub(e.lastHB) >= HeartbeatEvery {
		e.lastHB = now
		if err := e.state.Heartbeat(); err != nil {
			e.log.Warn("enforcement heartbeat", "err", err)
		}
	}
	if e.exec != nil && now.Sub(e.lastPrune) >= pruneEvery {
		e.lastPrune = now
		if _, err := e.exec.Prune(); err != nil {
			e.log.Warn("prune held executions", "err", err)
		}
	}
	if now.Sub(e.lastSeen) >= seenEvery {
		e.lastSeen = now
		e.markSeen(nil)
	}
	if now.Sub(e.lastRes) >= ResolveEvery {
		e.lastRes = now
		e.queueResolve()
	}
}

func (e *Enforcer) queueResolve() {
	select {
	case e.work <- job{resolve: true}:
	default: // one is queued already, or the worker is busy: the next tick retries
	}
}

// resolveAgain re-plans the current set: paths replaced since (a package
// upgrade renames a new file over the old) get their new inodes.
func (e *Enforcer) resolveAgain() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.origins) == 0 {
		return
	}
	before := e.cur.Load().plan
	if err := e.apply(e.origins); err != nil {
		e.log.Warn("resolve policy paths again", "err", err)
		return
	}
	after := e.cur.Load().plan
	if len(after.ExecDeny) != len(before.ExecDeny) || len(after.Files) != len(before.Files) || !sameKeys(before.ExecDeny, after.ExecDeny) {
		e.counts.Resolved.Add(1)
		e.log.Info("policy paths resolved to new files", "exec", len(after.ExecDeny), "files", len(after.Files))
	}
}

func sameKeys(a, b map[Inode]pinned.Verdict) bool {
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func lowestBit(m uint64) uint {
	for i := uint(0); i < 64; i++ {
		if m&(1<<i) != 0 {
			return i
		}
	}
	return 0
}
