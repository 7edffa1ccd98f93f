package pidfd

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSameStart(t *testing.T) {
	const ticks = 1000
	at := uint64(ticks * Tick)
	for _, c := range []struct {
		ns    uint64
		slack time.Duration
		want  bool
	}{
		{at, 0, true},
		{at + uint64(Tick) - 1, 0, true}, // /proc rounds down
		{at + uint64(Tick), 0, false},
		{at - 1, 0, false},
		{at - uint64(Tick), Tick, true},
		{at + 2*uint64(Tick) - 1, Tick, true},
		{at + 2*uint64(Tick), Tick, false},
		{at - uint64(Tick) - 1, Tick, false},
	} {
		if got := SameStart(ticks, c.ns, c.slack); got != c.want {
			t.Errorf("SameStart(%d ticks, %d ns, slack %v) = %v, want %v", ticks, c.ns, c.slack, got, c.want)
		}
	}
}

// TestSignalChecksIdentity: a signal names the process by pid and start
// time; a start time that does not match (a reused pid) spares it, and a
// reaped process is gone.
func TestSignalChecksIdentity(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := uint32(cmd.Process.Pid)
	ticks, err := StartTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	start := ticks * uint64(Tick)

	p, err := Open(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Verify(start+uint64(Tick), 0); !errors.Is(err, ErrGone) {
		t.Errorf("Verify of the next tick: %v, want ErrGone", err)
	}
	if err := p.Verify(start, 0); err != nil {
		t.Errorf("Verify of its own start: %v", err)
	}
	if err := Signal(pid, start+uint64(5*time.Second), Tick, unix.SIGKILL); !errors.Is(err, ErrGone) {
		t.Fatalf("signal with another start time: %v, want ErrGone", err)
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the process died of a signal meant for another: %v", err)
	}
	if err := p.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("wait: %v, want killed by SIGKILL", err)
	}
	if err := p.Signal(unix.SIGKILL); !errors.Is(err, ErrGone) {
		t.Errorf("signal of a reaped process through its pidfd: %v, want ErrGone", err)
	}
	if err := p.Verify(start, 0); !errors.Is(err, ErrGone) {
		t.Errorf("Verify of a reaped process: %v, want ErrGone", err)
	}
	if err := Signal(pid, start, Tick, unix.SIGKILL); !errors.Is(err, ErrGone) {
		t.Errorf("signal of a reaped process: %v, want ErrGone", err)
	}
}
