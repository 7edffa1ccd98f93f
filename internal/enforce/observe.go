package enforce

import (
	"errors"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/execguard"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/policy"
)

// Observe looks at every enriched event for what the kernel could not
// catch on its own. Cheap unless a policy needs it: map lookups, no I/O
// on the pipeline goroutine.
//
//   - A process_exec of a denied path whose inode the kernel does not know:
//     the file was replaced since the path was resolved. It is killed from
//     user space now, and the paths are resolved again.
//   - A file event that changes a denied or protected path: resolve again.
//   - With hash policies that do not hold, an exec's binary is queued for
//     hashing.
func (e *Enforcer) Observe(ev *event.Event) {
	cur := e.cur.Load()
	pl := cur.plan
	switch ev.Kind {
	case event.KindProcessExec:
		p := ev.Process
		if p == nil || p.Executable == nil {
			return
		}
		ino := Inode{Dev: uint64(p.Executable.Dev), Ino: p.Executable.Inode}
		if pl.DenyPaths[p.Binary] {
			if !pl.killedAtExec(ino, ev.Time) {
				e.replacedBinary(ev, cur)
			}
		}
		// only an exec a hash policy that does not hold governs is worth
		// hashing, and not one a holding policy governs (hashed at its
		// hold); the scope lookup (a stat per cgroup level) only when
		// such a policy exists
		if learning := pl.hashPolicies() &^ pl.HashHold; learning != 0 && !pl.killedAtExec(ino, ev.Time) {
			if mine := e.policiesOf(ev); mine&learning != 0 && mine&pl.HashHold == 0 {
				e.queueLearn(ev)
			}
		}
	case event.KindFileRename, event.KindFileLink, event.KindFileSymlink, event.KindFileUnlink:
		if f := ev.File; f != nil && (pl.watches(f.Path) || pl.watches(f.NewPath)) {
			e.queueResolve()
		}
	case event.KindFileOpen:
		if f := ev.File; f != nil && pl.watches(f.Path) && opensForWrite(f.Flags) {
			e.queueResolve()
		}
	}
}

// killedAtExec says whether the kernel knew to kill an exec of this inode
// at that time: then its record, not user space, reports it.
func (pl *Plan) killedAtExec(ino Inode, at time.Time) bool {
	since, known := pl.execSince[ino]
	return known && !at.Before(since)
}

// watches says whether a path is one the plan resolved (or tried to).
func (pl *Plan) watches(path string) bool {
	if path == "" {
		return false
	}
	if pl.DenyPaths[path] {
		return true
	}
	for _, u := range pl.Unresolved {
		if u.Path == path {
			return true
		}
	}
	return false
}

func opensForWrite(flags []string) bool {
	for _, f := range flags {
		switch f {
		case "O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC":
			return true
		}
	}
	return false
}

// replacedBinary kills an exec of a denied path the kernel missed.
func (e *Enforcer) replacedBinary(ev *event.Event, cur *current) {
	mine := e.policiesOf(ev)
	for n, p := range cur.plan.Policies {
		if p.Name == "" || mine&(1<<n) == 0 {
			continue
		}
		for _, d := range p.Exec.Deny {
			if d.Path != ev.Process.Binary {
				continue
			}
			ev.Enforcement = &event.Enforcement{PolicyID: n, Policy: p.Name, Rule: d.Name,
				Mechanism: event.MechanismUserspace, Hook: "agent (path replaced since resolved)", Action: event.ActionWouldKill}
			if p.Mode == "enforce" {
				e.killUserspace(ev)
			}
			e.queueResolve()
			select {
			case e.alerts <- alertFor(ev, p, entryRef{policy: p.Name, entry: d.Entry, detail: d.Path}):
			default:
				e.log.Error("enforcement alert lost: the pipeline is behind", "policy", p.Name)
			}
			return
		}
	}
}

func (e *Enforcer) queueLearn(ev *event.Event) {
	p := ev.Process
	h := execguard.Hold{PID: p.PID, TID: p.TID, Key: execguard.InodeKey{Dev: p.Executable.Dev, Ino: p.Executable.Inode}}
	select {
	case e.work <- job{learn: &learnJob{ev: ev, hold: h}}:
	default: // the binary is hashed the next time it runs
		e.counts.LearnOverflow.Add(1)
	}
}

// RuleAlert carries out a rule's kill: rules the kernel decides have acted
// already (their kernel record raises the alert, so this one is dropped:
// drop is true); the others are killed now, from user space, and the alert
// says so.
func (e *Enforcer) RuleAlert(al *event.Alert) (drop bool) {
	if al.Action != event.ActionWouldKill && al.Action != event.ActionWouldDeny {
		return false
	}
	cur := e.cur.Load()
	where := cur.rules[al.Rule.Name].Where
	ev := al.Event
	if where == "kernel" {
		// the kernel only misses a process_exec of a replaced binary,
		// which Observe kills
		return true
	}
	if al.Action == event.ActionWouldDeny || ev == nil || ev.Process == nil {
		return false
	}
	ev.Enforcement = &event.Enforcement{Policy: RulesPolicyName, Rule: al.Rule.Name,
		Mechanism: event.MechanismUserspace, Hook: "agent"}
	e.killUserspace(ev)
	al.Action = ev.Enforcement.Action
	al.Message += "; " + message(ev, entryRef{})
	return false
}

// RuleInfo is what the enforce stage knows of a kill or deny rule.
type RuleInfo struct {
	// Where is "kernel" or "userspace".
	Where string
	// Ref names the rule in alerts the kernel's records raise for it.
	Ref event.RuleRef
}

// SetRules records the kill and deny rules, by name.
func (e *Enforcer) SetRules(rules map[string]RuleInfo) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := *e.cur.Load()
	c.rules = rules
	e.cur.Store(&c)
}

// killUserspace kills the event's process if it still is that process,
// and records how long after the event.
func (e *Enforcer) killUserspace(ev *event.Event) {
	p, enf := ev.Process, ev.Enforcement
	start := uint64(0)
	if !p.StartTime.IsZero() {
		start = e.cfg.Clock.BootNS(p.StartTime)
	}
	err := killProcess(p.PID, start)
	lat := time.Since(ev.Time)
	enf.Mechanism, enf.LatencyNS = event.MechanismUserspace, lat.Nanoseconds()
	if err != nil {
		enf.Action, enf.Error = event.ActionWouldKill, err.Error()
		if errors.Is(err, ErrGone) {
			enf.Error = "the process was gone before the agent could kill it (it exited, or the kernel killed it)"
		}
		e.counts.UserspaceKillFailed.Add(1)
		return
	}
	enf.Action = event.ActionKilled
	e.counts.UserspaceKills.Add(1)
	e.counts.KillLatency.Observe(lat)
}

// policiesOf is which policies govern the event's process, from its cgroup
// v2 path (the kernel tests the same ancestors).
func (e *Enforcer) policiesOf(ev *event.Event) uint64 {
	cur := e.cur.Load()
	mask := cur.plan.Host
	if len(cur.scopes) == 0 || ev.Process == nil || e.cfg.Cgroup2Root == "" {
		return mask
	}
	path := ev.Process.Cgroup.Path
	for path != "" && path != "/" && path != "." {
		if id, err := kernel.CgroupID(filepath.Join(e.cfg.Cgroup2Root, path)); err == nil {
			mask |= cur.scopes[id]
		}
		path = filepath.Dir(path)
		if !strings.HasPrefix(path, "/") {
			break
		}
	}
	return mask
}

// Governs reports whether the policy named name governs ev's process
// (its scope holds the process's cgroup), and in which mode: what user
// space checks before it acts on a match the kernel could not make (an
// IOC's md5 or domain). ok is false when no such policy is in force.
func (e *Enforcer) Governs(ev *event.Event, name string) (mode policy.Mode, ok bool) {
	pl := e.cur.Load().plan
	n, found := numberOf(pl, name)
	if !found || e.policiesOf(ev)&(1<<n) == 0 {
		return "", false
	}
	return pl.Policies[n].Mode, true
}

// KillFor kills ev's process from user space for the policy named name,
// filling ev.Enforcement (action killed, or would_kill with the reason it
// failed).
func (e *Enforcer) KillFor(ev *event.Event, name, hook string) {
	n, _ := numberOf(e.cur.Load().plan, name)
	ev.Enforcement = &event.Enforcement{Policy: name, PolicyID: n, Action: event.ActionWouldKill, Hook: hook}
	e.killUserspace(ev)
}
