package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// vigilCmd runs the built binary and returns its output and exit status.
func vigilCmd(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRulesValidateExitStatus(t *testing.T) {
	bin := buildVigil(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	writeFile(t, good, "- rule: my_shell\n  description: a shell\n  condition: kind == \"process_exec\" && process.name == \"sh\"\n  severity: low\n")
	out, _, code := vigilCmd(t, bin, "rules", "validate", good)
	if code != 0 || !strings.Contains(out, "ok: 58 rules (58 enabled) from 7 files") {
		t.Errorf("valid file: exit %d, output %q", code, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "- rule: my_shell\n  description: a shell\n  condition: kind == \"process_exec\" && proces.name == \"sh\"\n  severity: low\n")
	out, errOut, code := vigilCmd(t, bin, "rules", "validate", bad)
	want := bad + ":3:40: rule my_shell: condition: unknown name proces (did you mean process?)"
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(errOut, "1 error") {
		t.Errorf("invalid file: exit %d, output %q, stderr %q; want %q", code, out, errOut, want)
	}
}

func TestRulesTestCommand(t *testing.T) {
	bin := buildVigil(t)
	out, _, code := vigilCmd(t, bin, "rules", "test", "../../rules/tests")
	if code != 0 || !strings.Contains(out, " 0 failed") {
		t.Errorf("the pack's tests: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	fixture := filepath.Join(dir, "t.yaml")
	writeFile(t, fixture, `tests:
  - name: expects an alert that does not come
    events:
      - {kind: process_exec, process: {binary: /usr/bin/ls, args: [ls]}}
    expect:
      - rule: terminal_shell_in_container
`)
	out, _, code = vigilCmd(t, bin, "rules", "test", fixture)
	if code != 1 || !strings.Contains(out, "FAIL "+fixture+":2 expects an alert that does not come") || !strings.Contains(out, "1 failed") {
		t.Errorf("failing fixture: exit %d\n%s", code, out)
	}
}

// TestReplayIsDeterministic: the same recording gives the same alerts, and
// a line that is not an event is reported with its place and fails the run.
func TestReplayIsDeterministic(t *testing.T) {
	bin := buildVigil(t)
	rec := filepath.Join(t.TempDir(), "rec.json")
	gunzip(t, "../../internal/rule/testdata/corpus.jsonl.gz", rec)
	first, errOut, code := vigilCmd(t, bin, "replay", "--format", "json", rec)
	if code != 0 || strings.Count(first, `"kind":"alert"`) == 0 {
		t.Fatalf("replay: exit %d, %d alerts, stderr %s", code, strings.Count(first, "\n"), errOut)
	}
	second, _, _ := vigilCmd(t, bin, "replay", "--format", "json", rec)
	if first != second {
		t.Error("two replays of one recording differ")
	}
	f, err := os.OpenFile(rec, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, `{"kind":"process_exec","process":`)
	f.Close()
	_, errOut, code = vigilCmd(t, bin, "replay", rec)
	if code != 1 || !strings.Contains(errOut, rec+":2475: ") || !strings.Contains(errOut, "1 lines were not events") {
		t.Errorf("truncated line: exit %d, stderr %s", code, errOut)
	}
}

func gunzip(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
}

// TestRunReloadsRulesOnHUP: the agent swaps its rules on SIGHUP, keeps the
// running set when the new one is invalid and says why, file and line.
func TestRunReloadsRulesOnHUP(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	out := filepath.Join(dir, "alerts.json")
	first := fmt.Sprintf("vigil-hup-a-%d", time.Now().UnixNano())
	second := fmt.Sprintf("vigil-hup-b-%d", time.Now().UnixNano())
	markerRule := func(name, m string) string {
		return fmt.Sprintf("- rule: %s\n  description: the test's marker\n  condition: kind == \"process_exec\" && process.args.exists(a, a == %q)\n  severity: low\n  tags: [T1059]\n", name, m)
	}
	writeFile(t, rules, markerRule("first", first))

	var stderr syncBuffer
	agent := exec.Command(bin, "run", "--no-default-rules", "--rules", rules, "--format", "json", "--output", out,
		"--socket", "", "--alert-refill", "0")
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer agent.Process.Kill() // only if the test fails before SIGTERM
	waitFor(t, "agent start", func() bool { return strings.Contains(stderr.String(), "msg=started") })
	alertsFor := func(m string) int {
		raw, _ := os.ReadFile(out)
		return bytes.Count(raw, []byte(m))
	}
	runMarked := func(m string) {
		if err := exec.Command("/bin/sh", "-c", "true", m).Run(); err != nil {
			t.Fatal(err)
		}
	}
	runMarked(first)
	waitFor(t, "alert of the first rule", func() bool { return alertsFor(first) == 1 })

	writeFile(t, rules, markerRule("second", second)+"  condition: proces.name == \"x\"\n")
	if err := agent.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload rejected", func() bool { return strings.Contains(stderr.String(), "rules not reloaded") })
	if !strings.Contains(stderr.String(), rules+":6:3: rule second: condition: key given twice") {
		t.Errorf("the rejection does not name the file and line:\n%s", stderr.String())
	}
	runMarked(first)
	waitFor(t, "the first rule still active", func() bool { return alertsFor(first) == 2 })

	writeFile(t, rules, markerRule("second", second))
	if err := agent.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload", func() bool { return strings.Contains(stderr.String(), "msg=\"rules reloaded\"") })
	runMarked(second)
	runMarked(first)
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
	if !strings.Contains(stderr.String(), "rules: 3 alerts written") {
		t.Errorf("summary:\n%s", stderr.String())
	}
}
