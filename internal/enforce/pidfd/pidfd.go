// Package pidfd signals a process named by its pid and its start time,
// through a pidfd: the pidfd pins the process it was opened on, so once
// its start time has been checked, a pid the kernel has meanwhile given to
// another process is never signalled. Both the user-space kill and the
// release of a held exec go through it.
package pidfd

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/procfs"
)

// ErrGone says the process is no longer there: it exited, or its pid now
// names another process.
var ErrGone = errors.New("process is gone")

// Tick is the unit of the start time in /proc/PID/stat: USER_HZ, 100 on
// every architecture Linux runs vigil on.
const Tick = time.Second / 100

// Process is a pidfd on a process.
type Process struct {
	pid uint32
	fd  int
}

// Open opens a pidfd on pid; ErrGone when there is no such process.
func Open(pid uint32) (*Process, error) {
	fd, err := unix.PidfdOpen(int(pid), 0)
	if errors.Is(err, unix.ESRCH) {
		return nil, ErrGone
	}
	if err != nil {
		return nil, fmt.Errorf("pidfd_open: %w", err)
	}
	return &Process{pid: pid, fd: fd}, nil
}

// Verify returns ErrGone unless the process is the one that started
// startBootNS after boot (boot clock), give or take slack (see SameStart).
// The pidfd was opened first, so what it checks stays true of the process
// Signal signals.
func (p *Process) Verify(startBootNS uint64, slack time.Duration) error {
	ticks, err := StartTicks(p.pid)
	if errors.Is(err, os.ErrNotExist) {
		return ErrGone
	}
	if err != nil {
		return err
	}
	if !SameStart(ticks, startBootNS, slack) {
		return ErrGone
	}
	return nil
}

// Signal sends sig to the process; ErrGone when it has exited.
func (p *Process) Signal(sig unix.Signal) error {
	if err := unix.PidfdSendSignal(p.fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrGone
		}
		return fmt.Errorf("pidfd_send_signal: %w", err)
	}
	return nil
}

// Close closes the pidfd.
func (p *Process) Close() error { return unix.Close(p.fd) }

// Signal sends sig to pid if it is still the process that started
// startBootNS after boot, give or take slack; a zero startBootNS (not
// known) skips the check.
func Signal(pid uint32, startBootNS uint64, slack time.Duration, sig unix.Signal) error {
	p, err := Open(pid)
	if err != nil {
		return err
	}
	defer func() { _ = p.Close() }() // a pidfd: nothing to flush
	if startBootNS != 0 {
		if err := p.Verify(startBootNS, slack); err != nil {
			return err
		}
	}
	return p.Signal(sig)
}

// SameStart reports whether a process whose start time in /proc is ticks
// started startBootNS after boot. /proc rounds the start down to whole
// ticks; slack widens that tick on both sides, for a start time measured
// on another clock. With no slack, startBootNS must fall in the tick.
func SameStart(ticks, startBootNS uint64, slack time.Duration) bool {
	from := int64(ticks)*int64(Tick) - int64(slack)
	to := int64(ticks+1)*int64(Tick) + int64(slack)
	ns := int64(startBootNS)
	return from <= ns && ns < to
}

// StartTicks reads a process's start time, in clock ticks since boot, from
// /proc/PID/stat.
func StartTicks(pid uint32) (uint64, error) {
	st, err := procfs.ReadStat(pid)
	return st.StartTicks, err
}
