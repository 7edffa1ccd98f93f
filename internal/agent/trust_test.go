package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/internal/sensor/file"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/rules"
)

// startWithPack runs an agent with the default rule pack plus overlay (a
// rule file appended after it), watching the directories watch.
func startWithPack(t *testing.T, overlay string, watch ...string) *selfSink {
	t.Helper()
	testenv.RequirePrivileged(t)
	srcs, err := rules.Sources()
	if err != nil {
		t.Fatal(err)
	}
	srcs = append(srcs, rule.Source{Name: "test-overlay.yaml", Data: []byte(overlay)})
	rs, err := rule.Compile(srcs)
	if err != nil {
		t.Fatal(err)
	}
	sink := &selfSink{}
	a, err := New(Config{Ring: ring.DefaultConfig(), ProcTree: proctree.DefaultConfig(),
		File: file.Config{Watch: watch}, Rules: rule.NewEngine(rs, rule.Config{}), Sink: sink,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("start agent: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent run: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("agent close: %v", err)
		}
	})
	return sink
}

// alertsWhere lists the alerts of rule whose event matches.
func (s *selfSink) alertsWhere(rule string, match func(*event.Event) bool) []*event.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*event.Alert
	for _, al := range s.alerts {
		if al.Rule.Name == rule && match(al.Event) {
			out = append(out, al)
		}
	}
	return out
}

// waitAlert waits for an alert of rule whose event matches.
func (s *selfSink) waitAlert(t *testing.T, rule, what string, match func(*event.Event) bool) *event.Alert {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		if got := s.alertsWhere(rule, match); len(got) > 0 {
			return got[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s alert for %s within %v", rule, what, waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// argHas matches events whose process has marker in its argv.
func argHas(marker string) func(*event.Event) bool {
	return func(ev *event.Event) bool { return ev.Process != nil && slices.Contains(ev.Process.Args, marker) }
}

// pidIs matches events of the process pid.
func pidIs(pid int) func(*event.Event) bool {
	return func(ev *event.Event) bool { return ev.Process != nil && int(ev.Process.PID) == pid }
}

// TestNamesDoNotBuyTrust: programs named like trusted ones but copied
// where anyone could put them get no exception. A copy of cat named sshd
// reads a file of shadow_files (shadow_file_read); a copy of bash named
// dpkg reads it too and runs a binary it just dropped in /tmp
// (exec_from_temp_dir, dropped_executable_executed): each alerts, as the
// package-manager and shadow-reader exceptions now need a trusted binary.
// The real dpkg running the same kind of binary (its --pre-invoke hook,
// through sh) and reading its own status file raises none of them.
func TestNamesDoNotBuyTrust(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir, err := os.MkdirTemp("/tmp", "v18e-trust-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	admin := filepath.Join(dir, "admin")
	for _, d := range []string{filepath.Join(dir, "opt", "x"), filepath.Join(admin, "updates"), filepath.Join(admin, "info")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(admin, "status") // dpkg's own database file: a "sensitive" file here
	if err := os.WriteFile(secret, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sshd := filepath.Join(dir, "opt", "x", "sshd")
	copyFile(t, realPath(t, "/bin/cat"), sshd)
	dpkg := filepath.Join(dir, "dpkg")
	copyFile(t, realPath(t, "/bin/bash"), dpkg)
	overlay := fmt.Sprintf("- list: shadow_files\n  append: true\n  items: [%q]\n", secret)
	sink := startWithPack(t, overlay, dir)

	// the impostors
	m := marker(t)
	cmd := exec.Command(sshd, secret, m)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("%s %s %s: want an error for the missing marker file\n%s", sshd, secret, m, out)
	}
	al := sink.waitAlert(t, "shadow_file_read", "a cat named sshd", pidIs(cmd.Process.Pid))
	if al.Event.Process.BinaryTrusted || al.Event.Process.Binary != sshd {
		t.Errorf("sshd copy: binary %s trusted %v", al.Event.Process.Binary, al.Event.Process.BinaryTrusted)
	}
	dropped, md := filepath.Join(dir, "dropped"), marker(t)
	script := fmt.Sprintf("cp /bin/true %[1]s && chmod 755 %[1]s && %[1]s %[2]s; read -r x < %[3]s; true", dropped, md, secret)
	cmd = exec.Command(dpkg, "-c", script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash named dpkg: %v\n%s", err, out)
	}
	sink.waitAlert(t, "shadow_file_read", "a bash named dpkg", pidIs(cmd.Process.Pid))
	for _, r := range []string{"exec_from_temp_dir", "dropped_executable_executed"} {
		al := sink.waitAlert(t, r, "a binary run by a bash named dpkg", argHas(md))
		if al.Event.Parent == nil || al.Event.Parent.Binary != dpkg || al.Event.Parent.BinaryTrusted {
			t.Errorf("%s: parent %+v, want the untrusted %s", r, al.Event.Parent, dpkg)
		}
	}

	// the real dpkg
	real, err := exec.LookPath("dpkg")
	if err != nil {
		t.Logf("no dpkg on this host: only the impostors were tested")
		return
	}
	m2 := marker(t)
	hook := filepath.Join(dir, "hook")
	copyFile(t, realPath(t, "/bin/true"), hook) // written by this test: tracked as recently written
	cmd = exec.Command(real, "--admindir="+admin, "--pre-invoke="+hook+" "+m2, "--add-architecture", "v18e")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	dpkgPID := cmd.Process.Pid
	// a sentinel after it: once its alert is out, every alert about the
	// real dpkg's work would be too (the pipeline keeps order)
	m3 := marker(t)
	cmd = exec.Command(sshd, secret, m3)
	_ = cmd.Run() // fails on the missing marker file after reading secret
	sink.waitAlert(t, "shadow_file_read", "the sentinel", pidIs(cmd.Process.Pid))
	evs := sink.eventsOn([]int{dpkgPID})
	if !slices.ContainsFunc(evs, func(ev *event.Event) bool {
		return ev.Kind == event.KindProcessExec && ev.Process.BinaryTrusted
	}) {
		t.Errorf("no exec event of the real dpkg (pid %d) marked binary_trusted: %d events", dpkgPID, len(evs))
	}
	if !slices.ContainsFunc(sink.find(argHas(m2)), func(ev *event.Event) bool { return ev.Kind == event.KindProcessExec }) {
		t.Fatalf("no exec event of the hook %s run by the real dpkg", hook)
	}
	for _, r := range []string{"shadow_file_read", "exec_from_temp_dir", "dropped_executable_executed"} {
		if got := sink.alertsWhere(r, func(ev *event.Event) bool { return pidIs(dpkgPID)(ev) || argHas(m2)(ev) }); len(got) > 0 {
			t.Errorf("%s alerted on the real dpkg's work: %s", r, got[0].Message)
		}
	}
}
