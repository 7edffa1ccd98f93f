package enforce

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/pidfd"
)

// ErrGone means the process to kill has already exited (or its pid now names
// another process). It is pidfd.ErrGone.
var ErrGone = pidfd.ErrGone

// ErrExempt means the process is one vigil never acts on (itself, its
// ancestors, init).
var ErrExempt = errors.New("process is exempt")

// killProcess sends SIGKILL to pid if it is still the process that
// started at startBootNS (boot clock), through a pidfd (see package
// pidfd). The start time comes from an event's wall-clock time converted
// back, so it may be off by a little: a tick of slack. A zero startBootNS
// skips the check.
func killProcess(pid uint32, startBootNS uint64) error {
	if err := pidfd.Signal(pid, startBootNS, pidfd.Tick, unix.SIGKILL); err != nil {
		if errors.Is(err, ErrGone) {
			return err
		}
		return fmt.Errorf("kill %d: %w", pid, err)
	}
	return nil
}
