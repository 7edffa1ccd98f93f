package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestPolicySurvivesAgentKill9 is the persistence promise of
// docs/policies.md, with the built binary: a policy denies a connection
// and a binary in a test cgroup; the agent is killed with SIGKILL and the
// kernel still denies; a restarted agent adopts the pinned state; `vigil
// policy clear` lifts it; a clean stop with nothing to enforce removes
// the pins; after another crash, `vigil policy clear` with no agent removes
// them.
func TestPolicySurvivesAgentKill9(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir := t.TempDir()
	pinDir := testenv.PinDir(t)
	stateDir := filepath.Join(dir, "state")
	sock := filepath.Join(dir, "vigil.sock")
	cg := testenv.NewCgroup(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	forbidden := filepath.Join(dir, "forbidden")
	raw, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(forbidden, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "lock.yaml")
	writeFile(t, pol, fmt.Sprintf(`policy: e2e-lock
mode: enforce
scope:
  cgroup: %s
exec:
  deny:
    - path: %s
      name: forbidden-binary
network:
  connect:
    - cidr: 127.0.0.1
      ports: [%d]
      protocol: tcp
      name: test-port
`, cg.Path, forbidden, port))

	inCgroup := func(name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	dial := fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d", port)
	denied := func(when string) {
		t.Helper()
		if out, err := inCgroup("bash", "-c", dial); err == nil || !strings.Contains(out, "Operation not permitted") {
			t.Fatalf("%s: connect from the cgroup: %v %q, want EPERM", when, err, out)
		}
		_, err := inCgroup(forbidden)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("%s: denied binary in the cgroup: %v, want SIGKILL", when, err)
		}
	}
	allowed := func(when string) {
		t.Helper()
		if out, err := inCgroup("bash", "-c", dial); err != nil {
			t.Fatalf("%s: connect from the cgroup: %v %q, want it to succeed", when, err, out)
		}
		if _, err := inCgroup(forbidden); err != nil {
			t.Fatalf("%s: the binary in the cgroup: %v, want it to run", when, err)
		}
	}
	start := func(out string) (*exec.Cmd, *syncBuffer) {
		var stderr syncBuffer
		agent := exec.Command(bin, "run", "--pin-dir", pinDir, "--state-dir", stateDir, "--socket", sock,
			"--policy", pol, "--format", "json", "--output", out)
		agent.Stderr = &stderr
		if err := agent.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
		waitFor(t, "agent start", func() bool { return strings.Contains(stderr.String(), "msg=started") })
		return agent, &stderr
	}

	out1 := filepath.Join(dir, "alerts-1.json")
	agent, _ := start(out1)
	denied("with the agent")
	waitFor(t, "the denial's alert", func() bool {
		for _, al := range alertsIn(t, out1) {
			if al.Action == event.ActionDenied && al.Rule.Name == "e2e-lock" && al.Event.Enforcement.Rule == "test-port" {
				return true
			}
		}
		return false
	})
	stdout, _, code := vigilCmd(t, bin, "policy", "list", "--socket", sock, "--format", "json")
	var rep api.PolicyReport
	if err := json.Unmarshal([]byte(stdout), &rep); code != 0 || err != nil {
		t.Fatalf("policy list: code %d, %v\n%s", code, err, stdout)
	}
	if len(rep.Policies) != 1 || rep.Policies[0].Name != "e2e-lock" || rep.Policies[0].Hits["denied"] == 0 || rep.Policies[0].Hits["killed"] == 0 {
		t.Errorf("policy list = %+v", rep.Policies)
	}

	// the agent dies hard: the pinned programs keep enforcing
	if err := agent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	agent.Wait()
	denied("after kill -9 of the agent")
	stdout, _, _ = vigilCmd(t, bin, "policy", "list", "--socket", sock, "--pin-dir", pinDir)
	if !strings.Contains(stdout, "no agent runs; the kernel still enforces") || !strings.Contains(stdout, "e2e-lock (enforce)") {
		t.Errorf("policy list with no agent:\n%s", stdout)
	}

	// a restarted agent adopts the pinned state
	agent, stderr := start(filepath.Join(dir, "alerts-2.json"))
	if !strings.Contains(stderr.String(), "adopted pinned enforcement") || !strings.Contains(stderr.String(), "e2e-lock") {
		t.Errorf("the restarted agent did not say it adopted the pinned state:\n%s", stderr.String())
	}
	denied("after the restart")
	// what the kernel did while no agent ran is reported, not lost
	if !strings.Contains(stderr.String(), "while no agent ran, a pinned policy acted") {
		t.Errorf("the restarted agent did not report what the pinned policy did meanwhile:\n%s", stderr.String())
	}
	stdout, _, _ = vigilCmd(t, bin, "policy", "list", "--socket", sock, "--format", "json")
	rep = api.PolicyReport{}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || len(rep.Policies) != 1 ||
		rep.Policies[0].WhileAway["killed"] == 0 || rep.Policies[0].WhileAway["denied"] == 0 {
		t.Errorf("policy list after the restart: %v, want the kill and the denial made while no agent ran\n%s", err, stdout)
	}

	// a policy naming a binary that does not exist applies, and says so
	ghost := filepath.Join(dir, "not-there-yet")
	ghostPol := filepath.Join(dir, "ghost.yaml")
	writeFile(t, ghostPol, fmt.Sprintf("policy: e2e-ghost\nmode: enforce\nscope:\n  cgroup: %s\nexec:\n  deny:\n    - path: %s\n", cg.Path, ghost))
	if stdout, stderrOut, code := vigilCmd(t, bin, "policy", "apply", "--socket", sock, ghostPol); code != 0 ||
		!strings.Contains(stdout, "applied e2e-ghost") || !strings.Contains(stderrOut, ghost+" does not exist") {
		t.Errorf("policy apply of a missing path: code %d, want it applied with a warning naming %s\n%s%s", code, ghost, stdout, stderrOut)
	}
	if stdout, stderrOut, code := vigilCmd(t, bin, "policy", "clear", "--socket", sock, "e2e-ghost"); code != 0 || !strings.Contains(stdout, "cleared e2e-ghost") {
		t.Fatalf("policy clear e2e-ghost: code %d\n%s%s", code, stdout, stderrOut)
	}

	if stdout, stderrOut, code := vigilCmd(t, bin, "policy", "clear", "--socket", sock); code != 0 || !strings.Contains(stdout, "cleared e2e-lock") {
		t.Fatalf("policy clear: code %d\n%s%s", code, stdout, stderrOut)
	}
	allowed("after vigil policy clear")

	// stopped cleanly with nothing left to enforce, the agent removes its
	// pins: no program stays attached
	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent exit: %v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(pinDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pin directory after a clean stop with no policy: %v, want it gone", err)
	}

	// a crash leaves the policy in force; without an agent, clear removes
	// the pins, which lifts it
	agent, _ = start(filepath.Join(dir, "alerts-3.json"))
	denied("with the third agent")
	if err := agent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	agent.Wait()
	denied("after the second kill -9")
	if stdout, stderrOut, code := vigilCmd(t, bin, "policy", "clear", "--socket", sock, "--pin-dir", pinDir, "--state-dir", stateDir); code != 0 ||
		!strings.Contains(stdout, "removed the pinned enforcement") {
		t.Fatalf("policy clear with no agent: code %d\n%s%s", code, stdout, stderrOut)
	}
	if _, err := os.Stat(pinDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pin directory after clear with no agent: %v", err)
	}
	allowed("after the uninstall")
}
