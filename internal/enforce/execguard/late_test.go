package execguard

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
)

// TestLateVerdict: an exec the kernel let run because the heartbeat was
// stale still reaches the agent as a not-held hold record; Decide then
// says the verdict is late (held false) and a kill kills the running
// process, while a continue leaves it alone. With a fresh heartbeat the
// same binary is held, and Decide says so.
func TestLateVerdict(t *testing.T) {
	h := newHarness(t)
	// a long-running binary of a new inode: never hashed, so held
	sleep := enforcetest.CopyFile(t, "/bin/sleep", filepath.Join(h.tmp, "vhh-sleep"))
	h.Scope(0, 1<<policyHold)
	start := func() *enforcetest.Proc {
		return enforcetest.Start(t, enforcetest.InCgroup(exec.Command(sleep, "60"), h.Cgroup))
	}

	c, err := h.State.ReadConfig()
	if err != nil {
		t.Fatal(err)
	}
	c.HeartbeatNs = 0 // never beat
	if err := h.guard.objs.EnforceConfig.Update(uint32(0), &c, ebpf.UpdateAny); err != nil {
		t.Fatal(err)
	}
	for _, kill := range []bool{true, false} {
		p := start()
		hold := h.nextHold(p.PID())
		if !hold.NotHeld || !hold.NotStopped {
			t.Fatalf("stale heartbeat: hold %+v, want one flagged not held", hold)
		}
		held, err := h.guard.Decide(hold, kill)
		if err != nil || held {
			t.Fatalf("late verdict (kill %v): held %v, %v; want not held, no error", kill, held, err)
		}
		if !kill {
			// continued means left alone: it still sleeps, never stopped
			awaitState(t, p.PID(), "S")
			if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil { // ours, by pid
				t.Fatal(err)
			}
		}
		if r := p.Wait(); !r.Killed {
			t.Fatalf("late verdict (kill %v): %v, want killed", kill, r)
		}
	}

	h.heartbeat()
	p := start()
	hold := h.nextHold(p.PID())
	awaitState(t, p.PID(), "T")
	if hold.NotHeld || hold.NotStopped {
		t.Fatalf("fresh heartbeat: hold %+v, want held", hold)
	}
	held, err := h.guard.Decide(hold, true)
	if err != nil || !held {
		t.Fatalf("verdict on a held process: held %v, %v; want held, no error", held, err)
	}
	if r := p.Wait(); !r.Killed {
		t.Fatalf("verdict on a held process: %v, want killed", r)
	}
}
