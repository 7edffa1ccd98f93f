package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestRunReloadsConfigMapRules: rules in a directory that changes the way
// the kubelet changes a ConfigMap volume (an atomic ..data swap, no file
// written) are reloaded with no signal; a broken change is rejected with
// its file and line in the log and counted, and the last good rules stay;
// a good change is applied.
func TestRunReloadsConfigMapRules(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules.d")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "alerts.json")
	first := fmt.Sprintf("vigil-cm-a-%d", time.Now().UnixNano())
	second := fmt.Sprintf("vigil-cm-b-%d", time.Now().UnixNano())
	markerRule := func(name, m string) string {
		return fmt.Sprintf("- rule: %s\n  description: the test's marker\n  condition: kind == \"process_exec\" && process.args.exists(a, a == %q)\n  severity: low\n  tags: [T1059]\n", name, m)
	}
	testenv.ConfigMapUpdate(t, rulesDir, map[string]string{"marker.yaml": markerRule("first", first)})

	var stderr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--no-default-rules", "--rules", rulesDir, "--format", "json", "--output", out,
		"--socket", "", "--alert-refill", "0", "--metrics-addr", "127.0.0.1:0")...)
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer agent.Process.Kill() // only if the test fails before SIGTERM
	waitFor(t, "agent start", func() bool { return strings.Contains(stderr.String(), "msg=started") })
	metricsURL := regexp.MustCompile(`serving metrics" address=(\S+)`).FindStringSubmatch(stderr.String())
	if metricsURL == nil {
		t.Fatalf("no metrics address in the log:\n%s", stderr.String())
	}
	reloads := func(result string) string {
		resp, err := http.Get(metricsURL[1])
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`vigil_config_reloads_total\{result="` + result + `",what="rules"\} (\d+)`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("no vigil_config_reloads_total for %s in\n%s", result, body)
		}
		return string(m[1])
	}
	alertsFor := func(m string) int {
		raw, _ := os.ReadFile(out)
		return strings.Count(string(raw), m)
	}
	runMarked := func(m string) {
		if err := exec.Command("/bin/sh", "-c", "true", m).Run(); err != nil {
			t.Fatal(err)
		}
	}
	runMarked(first)
	waitFor(t, "alert of the first rule", func() bool { return alertsFor(first) == 1 })

	// a broken change: rejected, named by file and line, counted
	testenv.ConfigMapUpdate(t, rulesDir, map[string]string{"marker.yaml": markerRule("second", second) + "  condition: proces.name == \"x\"\n"})
	waitFor(t, "reload rejected", func() bool { return strings.Contains(stderr.String(), "rules not reloaded") })
	if !strings.Contains(stderr.String(), filepath.Join(rulesDir, "marker.yaml")+":6:3: rule second: condition: key given twice") {
		t.Errorf("the rejection does not name the file and line:\n%s", stderr.String())
	}
	if got := reloads("rejected"); got != "1" {
		t.Errorf("rejected reloads: %s, want 1", got)
	}
	runMarked(first)
	waitFor(t, "the first rule still active", func() bool { return alertsFor(first) == 2 })

	// a good change: applied without a signal
	testenv.ConfigMapUpdate(t, rulesDir, map[string]string{"marker.yaml": markerRule("second", second)})
	waitFor(t, "reload", func() bool { return strings.Contains(stderr.String(), `msg="rules reloaded"`) })
	if got := reloads("applied"); got != "1" {
		t.Errorf("applied reloads: %s, want 1", got)
	}
	// first, then second: one ring keeps their order, so once the second's
	// alert is out the first's exec has been matched too
	runMarked(first)
	runMarked(second)
	waitFor(t, "alert of the second rule", func() bool { return alertsFor(second) == 1 })

	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent exit: %v\n%s", err, stderr.String())
	}
	if n := alertsFor(first); n != 2 {
		t.Errorf("%d alerts for the first marker, want 2 (none after the swap)", n)
	}
}

// TestRunReloadsConfigMapPolicies: policies in a directory updated like a
// ConfigMap volume are applied live; a broken file is rejected with its
// file and line and counted, and the running policies stay.
func TestRunReloadsConfigMapPolicies(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir := t.TempDir()
	polDir := filepath.Join(dir, "policies.d")
	if err := os.Mkdir(polDir, 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.ConfigMapUpdate(t, polDir, map[string]string{})
	// a binary only this test runs; the policy only monitors it
	target := filepath.Join(dir, "vigil-cm-true")
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, data, 0o755); err != nil {
		t.Fatal(err)
	}
	policy := func(name, mode string) string {
		return fmt.Sprintf("policy: %s\nmode: %s\nexec:\n  deny:\n    - path: %s\n  hold_unknown: false\n", name, mode, target)
	}

	var stderr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--policy", polDir, "--format", "json", "--output", filepath.Join(dir, "alerts.json"),
		"--socket", "", "--metrics-addr", "127.0.0.1:0")...)
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer agent.Process.Kill() // only if the test fails before SIGTERM
	waitFor(t, "agent start", func() bool { return strings.Contains(stderr.String(), "msg=started") })
	metricsURL := regexp.MustCompile(`serving metrics" address=(\S+)`).FindStringSubmatch(stderr.String())
	if metricsURL == nil {
		t.Fatalf("no metrics address in the log:\n%s", stderr.String())
	}
	metric := func(re string) string {
		resp, err := http.Get(metricsURL[1])
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(re + ` (\d+)`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("no %s in\n%s", re, body)
		}
		return string(m[1])
	}

	testenv.ConfigMapUpdate(t, polDir, map[string]string{"cm.yaml": policy("vigil-cm-test", "monitr")})
	waitFor(t, "reload rejected", func() bool { return strings.Contains(stderr.String(), "policies not reloaded") })
	if !strings.Contains(stderr.String(), filepath.Join(polDir, "cm.yaml")+":2:") {
		t.Errorf("the rejection does not name the file and line:\n%s", stderr.String())
	}
	if got := metric(`vigil_config_reloads_total\{result="rejected",what="policies"\}`); got != "1" {
		t.Errorf("rejected policy reloads: %s, want 1", got)
	}

	testenv.ConfigMapUpdate(t, polDir, map[string]string{"cm.yaml": policy("vigil-cm-test", "monitor")})
	waitFor(t, "reload", func() bool { return strings.Contains(stderr.String(), `msg="policies reloaded" policies=1`) })
	if got := metric(`vigil_config_reloads_total\{result="applied",what="policies"\}`); got != "1" {
		t.Errorf("applied policy reloads: %s, want 1", got)
	}
	if got := metric(`vigil_policies_loaded`); got == "0" {
		t.Errorf("vigil_policies_loaded is 0 after the reload")
	}

	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent exit: %v\n%s", err, stderr.String())
	}
}
