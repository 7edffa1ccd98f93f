package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/policy"

	"github.com/vigil-sec/vigil/internal/enforce"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestKillRulesInKernelAndUserspace runs the agent with two kill rules:
// one the kernel decides (a binary by path: killed before it runs, the
// alert named after the rule, mechanism kernel) and one it cannot (a
// command-line argument: killed by the agent after the exec, the alert
// saying so with its latency).
func TestKillRulesInKernelAndUserspace(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "forbidden")
	raw, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := fmt.Sprintf("vigil-kill-%d", time.Now().UnixNano())
	rules := fmt.Sprintf(`
- rule: forbidden_binary
  description: the test's binary may not run
  condition: kind == "process_exec" && process.binary == %q
  severity: critical
  tags: [T1059]
  action: kill
- rule: marked_command
  description: a command line with the test's marker dies
  condition: kind == "process_exec" && process.args.exists(a, a == %q)
  severity: high
  action: kill
`, bin, marker)
	eng := engineFor(t, rules, rule.Throttle{})
	for _, r := range eng.Ruleset().Rules() {
		where, why := r.Enforcement()
		want := map[string]string{"forbidden_binary": rule.InKernel, "marked_command": rule.InUserspace}[r.Name]
		if where != want {
			t.Fatalf("%s runs in %q (%s), want %q", r.Name, where, why, want)
		}
	}
	sink := &alertSink{}
	a, err := New(Config{Ring: ring.DefaultConfig(), ProcTree: proctree.DefaultConfig(), Rules: eng, Sink: sink,
		Enforce: &EnforceConfig{PinDir: testenv.PinDir(t), StateDir: t.TempDir()},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := &running{Agent: a, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() { r.stop(t); a.Close() })

	cmd := exec.Command(bin)
	err = cmd.Run()
	if !killedBy(err, syscall.SIGKILL) {
		t.Fatalf("forbidden binary: %v, want SIGKILL", err)
	}
	al := sink.waitFor(t, func(al *event.Alert) bool {
		return al.Event.Process != nil && int(al.Event.Process.PID) == cmd.Process.Pid
	})
	enf := al.Event.Enforcement
	if al.Rule.Name != "forbidden_binary" || al.Rule.Severity != event.SeverityCritical || al.Action != event.ActionKilled ||
		enf == nil || enf.Mechanism != event.MechanismKernel || enf.Policy != "rules" || enf.Rule != "forbidden_binary" ||
		al.Event.Process.Binary != bin {
		t.Errorf("kernel kill alert = %+v, enforcement %+v, process %+v", al, enf, al.Event.Process)
	}
	if n := len(sink.alertsOf("forbidden_binary")); n != 1 {
		t.Errorf("%d alerts for the kernel kill, want 1 (the rule engine's would_kill is dropped)", n)
	}

	cmd = exec.Command("/bin/sh", "-c", "sleep 20", marker)
	start := time.Now()
	err = cmd.Run()
	if !killedBy(err, syscall.SIGKILL) {
		t.Fatalf("marked command: %v, want SIGKILL", err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("the marked command ran %v: it was not killed, it ended", took)
	}
	al = sink.waitFor(t, func(al *event.Alert) bool { return al.Rule.Name == "marked_command" })
	enf = al.Event.Enforcement
	if al.Action != event.ActionKilled || enf == nil || enf.Mechanism != event.MechanismUserspace || enf.LatencyNS <= 0 {
		t.Errorf("user-space kill alert = %+v, enforcement %+v", al, enf)
	}
	t.Logf("user-space kill %v after the exec; the command ran %v", time.Duration(enf.LatencyNS), time.Since(start))
	if n := a.enforcer.Stats().UserspaceKills.Load(); n != 1 {
		t.Errorf("user-space kills counted %d, want 1", n)
	}
}

func killedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == sig
}

func (s *alertSink) waitFor(t *testing.T, match func(*event.Alert) bool) *event.Alert {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, al := range s.alerts {
			if match(al) {
				s.mu.Unlock()
				return al
			}
		}
		s.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no such alert within %v", waitLimit)
	return nil
}

func (s *alertSink) alertsOf(rule string) []*event.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*event.Alert
	for _, al := range s.alerts {
		if al.Rule.Name == rule {
			out = append(out, al)
		}
	}
	return out
}

// TestReplacedBinaryIsStillDenied: a policy denies a path; the file is
// replaced (a new inode renamed over it, as package upgrades do). The
// first exec of the new file is caught from user space (the kernel only
// knew the old inode) and the path is resolved again, so the next exec is
// killed by the kernel before it runs.
//
// Only a resolve between the rename and that first exec would let the
// kernel catch it instead. The test's own file events never reach the
// agent (it is the agent's process), so the only such resolve is the
// periodic one, due enforce.ResolveEvery after the agent started: before that,
// the first exec must be user space's.
func TestReplacedBinaryIsStillDenied(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "tool")
	sleep, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	pol := policy.Policy{Name: "replaced", Mode: policy.Enforce, Source: "test",
		Exec: policy.Exec{Deny: []policy.PathRule{{Entry: policy.Entry{Name: "tool"}, Path: bin}}}}
	sink := &alertSink{}
	started := time.Now()
	a, err := New(Config{Ring: ring.DefaultConfig(), ProcTree: proctree.DefaultConfig(), Sink: sink,
		Enforce: &EnforceConfig{PinDir: testenv.PinDir(t), Policies: []policy.Policy{pol}},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Agent: a, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() { r.stop(t); a.Close() })

	if err := exec.Command(bin, "5").Run(); !killedBy(err, syscall.SIGKILL) {
		t.Fatalf("denied binary: %v, want SIGKILL", err)
	}
	// replace it: a new inode under the same name
	tmp := bin + ".new"
	if err := os.WriteFile(tmp, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "20")
	runErr := cmd.Run()
	// the periodic resolve is due no earlier than ResolveEvery after
	// started: measured once the exec is over, so that a loaded machine
	// cannot put the exec past the resolve after the measure
	noResolveYet := time.Since(started) < enforce.ResolveEvery
	if !killedBy(runErr, syscall.SIGKILL) {
		t.Fatalf("replaced binary: %v, want SIGKILL", runErr)
	}
	al := sink.waitFor(t, func(al *event.Alert) bool {
		return al.Event.Process != nil && int(al.Event.Process.PID) == cmd.Process.Pid
	})
	enf := al.Event.Enforcement
	if al.Action != event.ActionKilled || enf.Rule != "tool" {
		t.Errorf("first exec after the replacement: %+v, enforcement %+v", al, enf)
	}
	switch {
	case enf.Mechanism == event.MechanismUserspace && enf.Hook == "agent (path replaced since resolved)":
	case enf.Mechanism == event.MechanismKernel && !noResolveYet:
		t.Logf("the periodic resolve (every %v) came first: the kernel killed the first exec", enforce.ResolveEvery)
	default:
		t.Errorf("first exec after the replacement, %v after start: enforcement %+v; want the user-space kill of a replaced path",
			time.Since(started).Round(time.Millisecond), enf)
	}
	// the path is resolved again off the pipeline: soon the kernel knows
	deadline := time.Now().Add(waitLimit)
	for {
		cmd = exec.Command(bin, "3")
		if err := cmd.Run(); !killedBy(err, syscall.SIGKILL) {
			for _, al := range sink.alertsOf("replaced") {
				t.Logf("alert: %s %+v", al.Message, al.Event.Enforcement)
			}
			t.Fatalf("replaced binary, again: %v, want SIGKILL", err)
		}
		al = sink.waitFor(t, func(al *event.Alert) bool {
			return al.Event.Process != nil && int(al.Event.Process.PID) == cmd.Process.Pid
		})
		if al.Event.Enforcement.Mechanism == event.MechanismKernel {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replaced path was never resolved again: every exec is still killed from user space")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHashLearnedWithoutHold: with hold_unknown off, a copy of a denied
// binary runs, is hashed after its exec, is killed from user space, and
// from then on its inode is denied in the kernel.
func TestHashLearnedWithoutHold(t *testing.T) {
	testenv.RequirePrivileged(t)
	sleep, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(sleep)
	bin := filepath.Join(t.TempDir(), "renamed-sleep")
	if err := os.WriteFile(bin, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	// scoped to a cgroup of the test's own: /bin/sleep has the same hash,
	// and every other sleep on the machine must keep running
	cg := testenv.NewCgroup(t)
	pol := policy.Policy{Name: "learned", Mode: policy.Enforce, Source: "test", Scope: policy.Scope{Cgroup: cg.Path},
		Exec: policy.Exec{DenySHA256: []policy.HashRule{{Entry: policy.Entry{Name: "sleep-by-hash"}, SHA256: hex.EncodeToString(sum[:])}}}}
	sink := &alertSink{}
	a, err := New(Config{Ring: ring.DefaultConfig(), ProcTree: proctree.DefaultConfig(), Sink: sink,
		Enforce: &EnforceConfig{PinDir: testenv.PinDir(t), Policies: []policy.Policy{pol}},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Agent: a, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() { r.stop(t); a.Close() })

	mechanismOf := func() string {
		cmd := exec.Command(bin, "20")
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
		if err := cmd.Run(); !killedBy(err, syscall.SIGKILL) {
			t.Fatalf("copy of a denied binary: %v, want SIGKILL", err)
		}
		al := sink.waitFor(t, func(al *event.Alert) bool {
			return al.Event.Process != nil && int(al.Event.Process.PID) == cmd.Process.Pid
		})
		if al.Action != event.ActionKilled || al.Event.Enforcement.Rule != "sleep-by-hash" {
			t.Fatalf("alert = %+v, enforcement %+v", al, al.Event.Enforcement)
		}
		return al.Event.Enforcement.Mechanism
	}
	if m := mechanismOf(); m != event.MechanismUserspace {
		t.Errorf("first exec killed by %q, want userspace (no hold: it ran, then was hashed)", m)
	}
	if m := mechanismOf(); m != event.MechanismKernel {
		for _, al := range sink.alertsOf("learned") {
			t.Logf("alert %s: %+v", al.Message, al.Event.Enforcement)
		}
		t.Errorf("second exec killed by %q, want kernel (the inode is denied now)", m)
	}
}
