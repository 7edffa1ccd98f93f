package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestExecContextRulesFireOnRealActions runs the built agent with the
// default pack and a config file that watches one more variable, does what
// rules/12-exec-context.yaml is about with real programs, and waits for
// each rule's alert on the process that did it.
func TestExecContextRulesFireOnRealActions(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir, err := os.MkdirTemp("/tmp", "v17x-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "vigil.yaml")
	writeFile(t, conf, "sensors:\n  process:\n    env:\n      add: [V17X_CANARY]\n")
	canaryRule := filepath.Join(dir, "canary.yaml")
	writeFile(t, canaryRule, "- rule: v17x_canary\n  description: the variable the config file adds reaches rules\n"+
		"  condition: kind == \"process_exec\" && \"V17X_CANARY\" in process.env\n  severity: low\n"+
		"  message: \"canary {process.env[\\\"V17X_CANARY\\\"]}\"\n")
	out := filepath.Join(t.TempDir(), "alerts.json")
	var stderr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--config", conf, "--rules", canaryRule, "--format", "json", "--output", out,
		"--socket", "", "--alert-refill", "0")...)
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer agent.Process.Kill() // only if the test fails before SIGTERM
	waitFor(t, "agent start", func() bool { return strings.Contains(stderr.String(), "msg=started") })

	// each action: a program run with an environment, an argv[0], or from a file
	want := map[string]int{} // rule → pid of the process it is about
	run := func(rule string, cmd *exec.Cmd, env ...string) {
		t.Helper()
		cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no terminal
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %v %s", rule, cmd.Args, err, out)
		}
		want[rule] = cmd.Process.Pid
	}
	run("v17x_canary", exec.Command("/bin/true"), "V17X_CANARY=tweet")
	// a library that does not exist: the loader says so and goes on
	run("dynamic_linker_library_from_writable_dir", exec.Command("/bin/true"), "LD_PRELOAD="+filepath.Join(dir, "libv17x.so"))
	run("glibc_tunables_exploit", exec.Command("/bin/true"), "GLIBC_TUNABLES=glibc.malloc.mxfast=glibc.malloc.mxfast=1")
	run("history_disabled_by_environment", exec.Command("/bin/true"), "HISTFILE=/dev/null")
	run("proxy_set_for_background_process", exec.Command("/bin/true"), "HTTPS_PROXY=http://192.0.2.1:3128")

	script := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	run("script_executed_from_temp_dir", exec.Command(script))

	link := filepath.Join(dir, "httpd")
	if err := os.Symlink("/bin/true", link); err != nil {
		t.Fatal(err)
	}
	run("masquerading_as_daemon", exec.Command(link))

	kworker := exec.Command("/bin/true")
	kworker.Args[0] = "[kworker/0:1]"
	run("masquerading_as_kernel_thread", kworker)

	// a running shell renames itself (the same kernel path as prctl(PR_SET_NAME))
	run("process_renamed_as_daemon", exec.Command("/bin/sh", "-c", "printf kworker/0:1 > /proc/$$/comm"))

	crond := filepath.Join(dir, "crond")
	raw, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crond, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	run("masquerading_system_name", exec.Command(crond)) // the pack's rule for a binary so named

	missing := func() []string {
		alerts := alertsIn(t, out)
		var left []string
		for rule, pid := range want {
			if !slices.ContainsFunc(alerts, func(a *event.Alert) bool {
				return a.Rule.Name == rule && int(a.Event.Process.PID) == pid
			}) {
				left = append(left, fmt.Sprintf("%s (pid %d)", rule, pid))
			}
		}
		return left
	}
	deadline := time.Now().Add(testenv.WaitLimit)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := missing(); len(left) > 0 {
		t.Errorf("no alert for: %s\nagent log:\n%s", strings.Join(left, ", "), stderr.String())
	}
	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent exit: %v\n%s", err, stderr.String())
	}
}
