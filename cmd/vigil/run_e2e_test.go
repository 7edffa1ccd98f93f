package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/testenv/kubelab"
)

// TestMain shares one Kubernetes lab among the package's cluster tests
// (TestKubernetesEndToEnd, TestHelmInCluster): it starts with the first
// that asks for it and stops after the last test.
func TestMain(m *testing.M) {
	testenv.MainFunc(func() int { return kubelab.Run(m, kubelab.ClusterMode) })
}

// buildVigil compiles the real binary once per test run.
func buildVigil(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vigil")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runArgs is `vigil run args…` with enforcement pinned in a directory of
// the test's own (removed at its end, which detaches the programs) rather
// than the host's /sys/fs/bpf/vigil, and applied policies remembered in a
// temporary directory.
func runArgs(t *testing.T, args ...string) []string {
	t.Helper()
	return append([]string{"run", "--pin-dir", testenv.PinDir(t), "--state-dir", t.TempDir()}, args...)
}

// TestRunEndToEnd runs the built agent, makes it see a real process, stops
// it with SIGTERM and checks the file it wrote and the summary it printed.
func TestRunEndToEnd(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	out := filepath.Join(t.TempDir(), "events.json")
	var stderr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--format", "json", "--events", "all", "--output", out)...)
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer agent.Process.Kill() // only if the test fails before SIGTERM

	waitFor(t, "agent start", func() bool { return strings.Contains(stderr.String(), "msg=started") })
	marker := fmt.Sprintf("vigil-e2e-%d", time.Now().UnixNano())
	if err := exec.Command("/bin/sh", "-c", "exit 5", marker).Run(); err == nil {
		t.Fatal("sh -c 'exit 5' succeeded")
	}
	waitFor(t, "exit event in the file", func() bool {
		raw, _ := os.ReadFile(out)
		return bytes.Contains(raw, []byte(marker)) && bytes.Contains(raw, []byte(`"process_exit"`))
	})

	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent exited with %v after SIGTERM; stderr:\n%s", err, stderr.String())
	}
	// the agent watches the whole (shared) host, so the counts are not
	// ours to predict; the summary must be there and name what was lost
	summary := regexp.MustCompile(`vigil stopped after \S+: (\d+) records .*; dropped (\d+) in the kernel`)
	if m := summary.FindStringSubmatch(stderr.String()); m == nil || m[1] == "0" {
		t.Errorf("no summary of records seen and dropped on stderr:\n%s", stderr.String())
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("output file mode %v, want 0600", st.Mode().Perm())
	}

	var execEv, exit *event.Event
	f, _ := os.Open(out)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev event.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not one JSON object per line: %v: %s", err, sc.Text())
		}
		if ev.Process == nil || !slices.Contains(ev.Process.Args, marker) {
			continue
		}
		switch ev.Kind {
		case event.KindProcessExec:
			execEv = &ev
		case event.KindProcessExit:
			exit = &ev
		}
	}
	if execEv == nil || exit == nil {
		t.Fatalf("exec %v, exit %v: want both for %s", execEv != nil, exit != nil, marker)
	}
	if execEv.Time.IsZero() || execEv.Node == "" || execEv.Process.ExecID == "" || execEv.Parent == nil {
		t.Errorf("exec event lacks time/node/exec_id/parent: %+v", execEv)
	}
	if exit.Exit == nil || exit.Exit.Code != 5 {
		t.Errorf("exit = %+v, want code 5", exit.Exit)
	}
}

// TestRunNeedsRoot: as an ordinary user, run says what to do.
func TestRunNeedsRoot(t *testing.T) {
	testenv.RequirePrivileged(t) // to switch to another user
	built := buildVigil(t)
	dir, err := os.MkdirTemp("", "vigil-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "vigil")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(built, bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if _, exited := err.(*exec.ExitError); !exited {
		t.Fatalf("vigil run as nobody: %v, want it to run and exit non-zero", err)
	}
	if !strings.Contains(string(out), "needs root") || !strings.Contains(string(out), "sudo") {
		t.Errorf("output %q does not say it needs root and how to get it", out)
	}
}

// TestRingBufferSize: --ring-buffer takes the config file's units (one
// parser) and says what is valid.
func TestRingBufferSize(t *testing.T) {
	for in, want := range map[string]int{"8MiB": 8 << 20, "8MB": 8 << 20, "8M": 8 << 20, "4096": 4096, "512KiB": 512 << 10, "1G": 1 << 30, "16 MiB": 16 << 20} {
		if got, err := ringBufferSize(in); err != nil || got != want {
			t.Errorf("ringBufferSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "8 apples", "1.5MiB", "3MiB", "0", "2GiB", "1000"} {
		_, err := ringBufferSize(bad)
		if err == nil || !strings.HasPrefix(err.Error(), "--ring-buffer") || !strings.Contains(err.Error(), "MiB") {
			t.Errorf("ringBufferSize(%q): %v, want an error naming the flag and what is valid", bad, err)
		}
	}
}

func TestRunSurvivesEarlySIGHUP(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "rules:\n  throttle:\n    burst: 0\n")
	if _, errOut, code := vigilCmd(t, bin, "run", "--config", bad); code == 0 ||
		!strings.Contains(errOut, bad+":3: rules.throttle.burst: 0 is too small: want at least 1") {
		t.Errorf("bad rules section: exit %d, stderr %q", code, errOut)
	}

	marker := fmt.Sprintf("vigil-early-hup-%d", time.Now().UnixNano())
	writeFile(t, filepath.Join(dir, "rules.yaml"), fmt.Sprintf(
		"- rule: marked\n  description: the test's marker\n  condition: kind == \"process_exec\" && process.args.exists(a, a == %q)\n  severity: low\n  tags: [T1059]\n", marker))
	cfg := filepath.Join(dir, "vigil.yaml")
	writeFile(t, cfg, "rules:\n  paths: [rules.yaml]\n  default_rules: false\n  throttle:\n    refill: 0s\napi:\n  socket: \"\"\n")
	out := filepath.Join(dir, "alerts.json")
	var stderr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--config", cfg, "--log-level", "debug", "--format", "json", "--output", out)...)
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer agent.Process.Kill() // only if the test fails before SIGTERM
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	alive := func(cond func() bool) func() bool {
		return func() bool {
			select {
			case err := <-exited:
				t.Fatalf("the agent exited (%v):\n%s", err, stderr.String())
			default:
			}
			return cond()
		}
	}
	waitFor(t, "signal handlers", alive(func() bool { return strings.Contains(stderr.String(), "signal handlers installed") }))
	if err := agent.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "agent start", alive(func() bool { return strings.Contains(stderr.String(), "msg=started") }))
	waitFor(t, "the held SIGHUP's reload", alive(func() bool { return strings.Contains(stderr.String(), `msg="rules reloaded" rules=1`) }))
	if !strings.Contains(stderr.String(), `msg="rules loaded" rules=1`) {
		t.Errorf("want the config's one rule and no default pack loaded:\n%s", stderr.String())
	}
	for range 3 {
		if err := exec.Command("/bin/sh", "-c", "true", marker).Run(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three alerts, none throttled", alive(func() bool {
		n := 0
		for _, a := range alertsIn(t, out) {
			if a.Rule.Name == "marked" && slices.Contains(a.Event.Process.Args, marker) {
				n++
			}
		}
		return n == 3
	}))
	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("agent exit: %v\n%s", err, stderr.String())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe to read while a child writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
