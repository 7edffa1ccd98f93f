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
)

func TestMain(m *testing.M) { testenv.Main(m) }

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

// TestRunEndToEnd runs the built agent, makes it see a real process, stops
// it with SIGTERM and checks the file it wrote and the summary it printed.
func TestRunEndToEnd(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	out := filepath.Join(t.TempDir(), "events.json")
	var stderr syncBuffer
	agent := exec.Command(bin, "run", "--format", "json", "--events", "all", "--output", out)
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

	var exec_, exit *event.Event
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
			exec_ = &ev
		case event.KindProcessExit:
			exit = &ev
		}
	}
	if exec_ == nil || exit == nil {
		t.Fatalf("exec %v, exit %v: want both for %s", exec_ != nil, exit != nil, marker)
	}
	if exec_.Time.IsZero() || exec_.Node == "" || exec_.Process.ExecID == "" || exec_.Parent == nil {
		t.Errorf("exec event lacks time/node/exec_id/parent: %+v", exec_)
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

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"8MiB": 8 << 20, "4096": 4096, "512KiB": 512 << 10, "1G": 1 << 30, "16M": 16 << 20} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "8 apples", "1.5MiB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
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
