package execguard

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// beatAgent is the helper that plays the agent's liveness: it keeps the
// heartbeat of the pinned state in dir fresh, as the agent's worker does,
// says "ready" once it has beaten, and runs until it is killed.
func beatAgent(dir string) int {
	st, err := pinned.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		return 2
	}
	if err := st.Heartbeat(); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		return 2
	}
	fmt.Println("ready")
	for {
		time.Sleep(200 * time.Millisecond)
		if err := st.Heartbeat(); err != nil {
			fmt.Fprintln(os.Stderr, "agent:", err)
			return 2
		}
	}
}

// startAgent starts beatAgent outside the test's cgroup (so it is never
// held itself) and waits until it has beaten once.
func (h *harness) startAgent() *exec.Cmd {
	h.t.Helper()
	cmd := enforcetest.Helper(h.t, helperEnv, "unused", nil)
	cmd.Env = append(cmd.Env, helperMode+"=beat", helperPins+"="+h.Dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		h.t.Fatalf("agent helper: %q, %v", line, err)
	}
	return cmd
}

// awaitState polls until pid is in state want, or fails after a long time.
func awaitState(t *testing.T, pid int, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for testenv.ProcState(pid) != want {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d in state %q, want %q", pid, testenv.ProcState(pid), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitNotStopped polls until pid is no longer stopped (or gone), or
// fails after a long time.
func awaitNotStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for testenv.ProcState(pid) == "T" {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still stopped", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) nextHold(pid int) Hold {
	h.t.Helper()
	select {
	case hold := <-h.holds:
		if hold.PID != uint32(pid) {
			h.t.Fatalf("hold of pid %d, want %d", hold.PID, pid)
		}
		return hold
	case <-time.After(30 * time.Second):
		h.t.Fatalf("no hold of pid %d", pid)
	}
	return Hold{}
}

// TestHoldEndsWhenAgentKilled: the agent is killed with SIGKILL while a
// process is held and nobody answers the hold: the kernel's timer sees the
// heartbeat go stale and continues the process (fail open), which then
// runs to its end. enforcetest.Start fails the test if it is still there
// after a minute.
func TestHoldEndsWhenAgentKilled(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("unknown")
	h.Scope(0, 1<<policyHold)
	agent := h.startAgent()

	p, marker := h.start(bin)
	h.nextHold(p.PID())
	awaitState(t, p.PID(), "T")
	if err := agent.Process.Kill(); err != nil { // kill -9 of the agent
		t.Fatal(err)
	}
	_ = agent.Wait() // killed: the error only says so
	// the agent's descriptors go with it
	if err := h.guard.Close(); err != nil {
		t.Fatal(err)
	}

	r := h.wait(p, marker)
	if !r.Success() || !r.ran() {
		t.Fatalf("held process after the agent died: %v, want continued and run", r)
	}
	g, err := Load(Options{Dir: h.Dir, Ring: h.ring})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if held, err := g.Held(); err != nil || len(held) != 0 {
		t.Errorf("held after expiry: %+v, %v; want none", held, err)
	}
	st, err := g.Expiry()
	if err != nil {
		t.Fatal(err)
	}
	if st.Expired != 1 {
		t.Errorf("expiry stats %+v, want one hold expired", st)
	}
	t.Logf("expiry stats %+v", st)
}

// TestHoldWaitsForLiveAgent: while the heartbeat stays fresh, the timer
// leaves the hold to the agent, however long it takes (here longer than
// the heartbeat's freshness bound and several timer periods), and the
// agent's release works as before.
func TestHoldWaitsForLiveAgent(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("unknown")
	h.Scope(0, 1<<policyHold)
	h.startAgent()

	p, marker := h.start(bin)
	hold := h.nextHold(p.PID())
	awaitState(t, p.PID(), "T")
	// not a synchronisation: a look, after the timer had several turns
	time.Sleep(4 * time.Second)
	if s := testenv.ProcState(p.PID()); s != "T" {
		t.Fatalf("held process with a live agent in state %q, want still stopped", s)
	}
	if err := h.guard.Release(hold, false); err != nil {
		t.Fatal(err)
	}
	if r := h.wait(p, marker); !r.Success() || !r.ran() {
		t.Fatalf("released process: %v, want it to run", r)
	}
	st, err := h.guard.Expiry()
	if err != nil {
		t.Fatal(err)
	}
	if st.Expired != 0 {
		t.Errorf("expiry stats %+v, want no hold expired while the agent lived", st)
	}
}

// TestContinueHeldOnUninstall: removing the pins drops the hold timers
// with exec_held, so ContinueHeld (run first by enforce.Uninstall)
// continues what is held, through the SIGCONT guard.
func TestContinueHeldOnUninstall(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("unknown")
	h.Scope(0, 1<<policyHold)
	h.heartbeat()

	p, marker := h.start(bin)
	h.nextHold(p.PID())
	awaitState(t, p.PID(), "T")
	if err := ContinueHeld(h.Dir); err != nil {
		t.Fatal(err)
	}
	if r := h.wait(p, marker); !r.Success() || !r.ran() {
		t.Fatalf("held process after ContinueHeld: %v, want continued and run", r)
	}
	if held, err := h.guard.Held(); err != nil || len(held) != 0 {
		t.Errorf("held after ContinueHeld: %+v, %v; want none", held, err)
	}
}
