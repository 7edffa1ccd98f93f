package enforce

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/pidfd"
)

// TestKillProcessChecksIdentity: a kill names the process by pid and start
// time; a start time that does not match (a reused pid) spares it.
func TestKillProcessChecksIdentity(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := uint32(cmd.Process.Pid)
	ticks, err := pidfd.StartTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	start := ticks * uint64(pidfd.Tick)

	if err := killProcess(pid, start+uint64(5*time.Second)); !errors.Is(err, ErrGone) {
		t.Fatalf("kill with another start time: %v, want ErrGone", err)
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the process died of a kill meant for another: %v", err)
	}
	if err := killProcess(pid, start); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("wait: %v, want killed by SIGKILL", err)
	}
	if err := killProcess(pid, start); !errors.Is(err, ErrGone) {
		t.Fatalf("kill of a reaped process: %v, want ErrGone", err)
	}
}
