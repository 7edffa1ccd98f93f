package kernel

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// ErrNoCompatSyscalls means the kernel does not deliver 32-bit (ia32)
// system calls: "int $0x80" faults instead of entering the kernel's compat
// path. A kernel built with CONFIG_IA32_EMULATION can still say so at run
// time (ia32_emulation=0, or a hypervisor that runs 64-bit user code only),
// so only a real call tells.
var ErrNoCompatSyscalls = errors.New("no 32-bit system call entry")

// compatOutcome is how the probe child ended (see compatChild).
type compatOutcome struct {
	// returned holds the child's exit code when it exited: 0 when
	// "int $0x80" getpid returned the child's pid, an errno (1-254) when it
	// returned that error, 255 when it returned anything else.
	exited   bool
	returned int
	// signal killed the child when it did not exit.
	signal unix.Signal
}

// compatWhere notes why the answer matters, for the probe's detail.
const (
	compatBypass   = "32-bit calls reach the kernel here, a path no syscall tracepoint shows: a bypass wherever only tracepoints watch (the module guard's sys_enter dispatcher does see them)"
	compatNoBypass = "not a bypass path here"
)

// probeCompatSyscalls is the feature probe: see CompatSyscalls.
func probeCompatSyscalls(ctx context.Context) (string, error) {
	if err := CompatSyscalls(ctx); err != nil {
		return "", err
	}
	return "int $0x80 getpid returned the caller's pid; " + compatBypass, nil
}

// CompatSyscalls finds out whether a 64-bit process can make 32-bit
// system calls with "int $0x80", by having a throwaway child make one
// (getpid) and watching how it ends: the call may kill it with SIGSEGV,
// and the caller must survive that. It returns nil when the call returned
// the child's pid, an error wrapping ErrNoCompatSyscalls when the kernel
// has no 32-bit entry, and another error when it could not tell.
func CompatSyscalls(ctx context.Context) error {
	if runtime.GOARCH != "amd64" {
		return fmt.Errorf("int $0x80 exists on x86-64 only, this is %s: %w", runtime.GOARCH, ErrNoCompatSyscalls)
	}
	out, err := runCompatChild(ctx)
	if err != nil {
		return fmt.Errorf("32-bit system call probe: %w", err)
	}
	switch {
	case out.exited && out.returned == 0:
		return nil
	case !out.exited && out.signal == unix.SIGSEGV:
		return fmt.Errorf("int $0x80 killed the probe child with SIGSEGV: %w; %s", ErrNoCompatSyscalls, compatNoBypass)
	case !out.exited:
		return fmt.Errorf("int $0x80 killed the probe child with %s (%w, %s)", unix.SignalName(out.signal), ErrNoCompatSyscalls, compatNoBypass)
	case out.returned == 255:
		return errors.New("int $0x80 getpid returned something other than the caller's pid")
	case out.returned == int(unix.ENOSYS):
		return fmt.Errorf("int $0x80 getpid failed with ENOSYS: %w; %s", ErrNoCompatSyscalls, compatNoBypass)
	default:
		errno := unix.Errno(out.returned)
		return fmt.Errorf("int $0x80 getpid failed with %s (%v)", unix.ErrnoName(errno), errno)
	}
}

// runCompatChild starts compatChild and waits for it to end, killing it
// if ctx ends first.
func runCompatChild(ctx context.Context) (compatOutcome, error) {
	pid, err := forkCompatChild()
	if err != nil {
		return compatOutcome{}, err
	}
	type waited struct {
		ws  unix.WaitStatus
		err error
	}
	done := make(chan waited, 1)
	go func() {
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if err == unix.EINTR {
				continue
			}
			done <- waited{ws, err}
			return
		}
	}()
	var w waited
	select {
	case w = <-done:
	case <-ctx.Done():
		// the child is ours and not yet reaped, so pid still names it
		_ = unix.Kill(pid, unix.SIGKILL)
		<-done
		return compatOutcome{}, ctx.Err()
	}
	if w.err != nil {
		return compatOutcome{}, fmt.Errorf("wait for child %d: %w", pid, w.err)
	}
	switch {
	case w.ws.Exited():
		return compatOutcome{exited: true, returned: w.ws.ExitStatus()}, nil
	case w.ws.Signaled():
		return compatOutcome{signal: w.ws.Signal()}, nil
	}
	return compatOutcome{}, fmt.Errorf("child %d ended oddly (wait status %#x)", pid, uint32(w.ws))
}
