package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestAgentKilledDuringHold: the agent runs a policy that holds unknown
// binaries in a cgroup of the test's own; a binary run there is held,
// hashed and continued while the agent lives. Then the agent is frozen
// (SIGSTOP: it no longer answers nor beats), a new binary is held within
// the heartbeat's freshness, and the agent is killed with SIGKILL: the
// kernel's hold timer must continue the held process on its own.
func TestAgentKilledDuringHold(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir := t.TempDir()
	cg := testenv.NewCgroup(t)
	raw, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	unknown := func() string { // a new inode: never hashed
		n++
		p := filepath.Join(dir, fmt.Sprintf("vi18h-unknown-%d", n))
		if err := os.WriteFile(p, raw, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pol := filepath.Join(dir, "hold.yaml")
	writeFile(t, pol, fmt.Sprintf("policy: vi18h-hold\nmode: enforce\nscope:\n  cgroup: %s\nexec:\n  deny:\n    - sha256: %x\n  hold_unknown: true\n",
		cg.Path, sha256.Sum256([]byte("vi18h: no binary has this content"))))

	var stderr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--no-default-rules", "--policy", pol, "--format", "json",
		"--output", filepath.Join(dir, "alerts.json"), "--socket", "", "--metrics-addr", "127.0.0.1:0")...)
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = agent.Process.Kill(); _ = agent.Wait() }() // only if the test fails early
	waitFor(t, "agent start", func() bool { return strings.Contains(stderr.String(), "msg=started") })

	start := func(path string) *exec.Cmd {
		cmd := exec.Command(path)
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// with the agent alive: held, hashed, continued
	if err := start(unknown()).Wait(); err != nil {
		t.Fatalf("unknown binary with the agent alive: %v, want it to run\n%s", err, stderr.String())
	}

	// freeze the agent, then get a process held while its last heartbeat
	// is still fresh; if the heartbeat was already stale the process runs
	// unheld, and the agent is let go on to beat again first
	var held *exec.Cmd
	for try := 0; held == nil; try++ {
		if try == 5 {
			t.Fatal("no process held in 5 tries")
		}
		if err := agent.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		cmd := start(unknown())
		for {
			if s := testenv.ProcState(cmd.Process.Pid); s == "T" {
				held = cmd
				break
			} else if s == "Z" || s == "" {
				_ = cmd.Wait() // ran unheld
				if err := agent.Process.Signal(syscall.SIGCONT); err != nil {
					t.Fatal(err)
				}
				time.Sleep(1500 * time.Millisecond) // let it beat again (not a synchronisation)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := agent.Process.Kill(); err != nil { // kill -9 of the agent, by pid
		t.Fatal(err)
	}
	_ = agent.Wait() // killed: the error only says so

	exited := make(chan error, 1)
	go func() { exited <- held.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("held process after the agent was killed: %v, want continued and run", err)
		}
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testenv.WaitLimit):
		st := testenv.ProcState(held.Process.Pid)
		_ = held.Process.Kill()
		t.Fatalf("held process still there (state %q) %v after the agent was killed", st, testenv.WaitLimit)
	}
}
