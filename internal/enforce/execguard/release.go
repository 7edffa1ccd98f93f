package execguard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/pidfd"
)

// ErrGone says a held process is no longer there: it exited, or its pid
// now names another process. It is pidfd.ErrGone.
var ErrGone = pidfd.ErrGone

// Release ends a hold: it kills the process or continues it, through a
// pidfd opened before checking that the pid still names the held process
// (the same start time, to the tick), so a reused pid is never signalled.
// The exec_held entry is deleted first, so that the continue never meets
// the guard against foreign SIGCONTs.
func (g *Guard) Release(h Hold, kill bool) error {
	_, err := g.Decide(h, kill)
	return err
}

// Decide is Release that also says whether the kernel still held the
// process when the verdict came: false when the process ran already (its
// hold expired because the agent's heartbeat went stale, or it was never
// stopped: h.NotStopped), so that a kill is known to be late. A process
// no hold of the agent's stops any more is not sent a SIGCONT.
func (g *Guard) Decide(h Hold, kill bool) (held bool, err error) {
	p, err := pidfd.Open(h.PID)
	if err == nil {
		defer func() { _ = p.Close() }() // a pidfd: nothing to flush
		err = p.Verify(h.StartTime, 0)
	}
	if errors.Is(err, ErrGone) {
		deleted, expiring, ferr := g.forgetHeld(h)
		held = deleted && !expiring && !h.NotStopped
		return held, errors.Join(fmt.Errorf("release %d: %w", h.PID, err), ferr)
	}
	if err != nil {
		return false, fmt.Errorf("release %d: %w", h.PID, err)
	}
	deleted, expiring, err := g.forgetHeld(h)
	if err != nil {
		return false, err
	}
	held = deleted && !expiring && !h.NotStopped
	sig := unix.SIGCONT
	switch {
	case kill:
		sig = unix.SIGKILL
	case !deleted:
		// no entry: never stopped, or continued by its timer, which
		// deletes the entry once its SIGCONT went
		return false, nil
	}
	if err := p.Signal(sig); err != nil {
		return held, fmt.Errorf("release %d: %w", h.PID, err)
	}
	return held, nil
}

// Prune deletes the exec_held entries of processes that are gone (killed
// while held, by someone else), so that they do not fill the map: a full
// exec_held means no holds, which fails open. It returns how many went.
func (g *Guard) Prune() (int, error) {
	held, err := g.Held()
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, h := range held {
		ticks, err := pidfd.StartTicks(h.PID)
		if err == nil && pidfd.SameStart(ticks, h.StartTime, 0) {
			continue
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		if _, _, err := g.forgetHeld(h); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// ContinueHeld continues every process held in the exec_held pinned in
// dir, of this version's layout or the older one, for the removal of the
// pins (vigil policy clear): the hold timers go with the map, and nothing
// would continue them afterwards. Each entry is deleted before its
// SIGCONT, so that the SIGCONT guard, still attached, lets it through; a
// pid that names another process by now is left alone.
func ContinueHeld(dir string) error { return continueHeld(dir, false) }

// continueOldHolds is ContinueHeld for an exec_held of the older layout
// only, whose entries carry no expiry timer: pinned.Load unpins such a map
// as incompatible, after which nothing would find its processes.
func continueOldHolds(dir string) error { return continueHeld(dir, true) }

func continueHeld(dir string, oldOnly bool) error {
	m, err := ebpf.LoadPinnedMap(filepath.Join(dir, "exec_held"), nil)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("exec_held: %w", err)
	}
	defer func() { _ = m.Close() }() // read and deleted from only
	info, err := m.Info()
	if err != nil {
		return fmt.Errorf("exec_held: %w", err)
	}
	var holds []Hold
	switch info.ValueSize {
	case uint32(unsafe.Sizeof(execguardHeldExec{})):
		holds, err = iterateHeld(m, func(h execguardHeldExec) execguardHeldExec { return h })
	case uint32(unsafe.Sizeof(execguardHeldSlot{})):
		if oldOnly {
			return nil
		}
		holds, err = iterateHeld(m, func(s execguardHeldSlot) execguardHeldExec { return s.Held })
	default:
		return nil // a layout this version does not know: leave it to pinned.Load
	}
	errs := []error{err}
	for _, h := range holds {
		if err := m.Delete(h.PID); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("exec_held: %w", err))
			continue
		}
		err := pidfd.Signal(h.PID, h.StartTime, 0, unix.SIGCONT)
		if err != nil && !errors.Is(err, ErrGone) {
			errs = append(errs, fmt.Errorf("continue %d: %w", h.PID, err))
		}
	}
	return errors.Join(errs...)
}

// iterateHeld lists the holds of an exec_held whose values are V.
func iterateHeld[V any](m *ebpf.Map, held func(V) execguardHeldExec) ([]Hold, error) {
	var (
		tgid  uint32
		v     V
		holds []Hold
	)
	it := m.Iterate()
	for it.Next(&tgid, &v) {
		holds = append(holds, holdOf(tgid, held(v)))
	}
	if err := it.Err(); err != nil {
		return holds, fmt.Errorf("iterate exec_held: %w", err)
	}
	return holds, nil
}
