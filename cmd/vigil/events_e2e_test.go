package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// lineReader collects a child's output lines as they come.
type lineReader struct {
	lines chan string
}

func readLines(t *testing.T, r io.Reader) *lineReader {
	lr := &lineReader{lines: make(chan string, 1024)}
	go func() {
		defer close(lr.lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lr.lines <- sc.Text()
		}
	}()
	return lr
}

// next returns the first line that contains marker, and every line read
// before it.
func (lr *lineReader) next(t *testing.T, marker string) (string, []string) {
	t.Helper()
	var before []string
	timeout := time.After(15 * time.Second)
	for {
		select {
		case line, ok := <-lr.lines:
			if !ok {
				t.Fatalf("stream ended before a line with %s; got %q", marker, before)
			}
			if strings.Contains(line, marker) {
				return line, before
			}
			before = append(before, line)
		case <-timeout:
			t.Fatalf("no line with %s within 15s; got %d others", marker, len(before))
		}
	}
}

// TestEventsAndStatusAgainstARunningAgent builds vigil, runs the agent
// with its API on a socket of the test's own, and reads a real exec
// through `vigil events` (JSON and compact, filtered by the agent), then
// asks `vigil status`. The agent is stopped by its pid; the readers end
// with it and the socket is removed.
func TestEventsAndStatusAgainstARunningAgent(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", "vigil.sock")
	var agentErr syncBuffer
	agent := exec.Command(bin, "run", "--socket", sock, "--events", "all", "--format", "json",
		"--output", filepath.Join(dir, "events.json"), "--metrics-addr", "127.0.0.1:0")
	agent.Stderr = &agentErr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer agent.Process.Kill() // only if the test fails before SIGTERM
	waitFor(t, "the API", func() bool { return strings.Contains(agentErr.String(), "serving the local API") })

	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Type() != os.ModeSocket || st.Mode().Perm() != 0o600 || st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("socket %v owned by %d: want a socket, 0600, root's", st.Mode(), st.Sys().(*syscall.Stat_t).Uid)
	}
	if d, err := os.Stat(filepath.Dir(sock)); err != nil || d.Mode().Perm() != 0o700 {
		t.Errorf("socket directory: %v, %v: want 0700", d.Mode(), err)
	}

	jsonOut := startEvents(t, bin, "--socket", sock, "--kind", "process_exec", "-o", "json")
	compactOut := startEvents(t, bin, "--socket", sock, "--binary", "true", "--kind", "process_exec", "-o", "compact", "--color", "never")
	waitFor(t, "two subscribers", func() bool { return status(t, bin, sock).Subscribers == 2 })

	marker := fmt.Sprintf("vigil-events-e2e-%d", time.Now().UnixNano())
	if err := exec.Command("/bin/sh", "-c", "exit 0", marker).Run(); err != nil {
		t.Fatal(err)
	}
	line, before := jsonOut.r.next(t, marker)
	var ev event.Event
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("not JSON: %v: %s", err, line)
	}
	if ev.Kind != event.KindProcessExec || ev.Process == nil || !slices.Contains(ev.Process.Args, marker) {
		t.Errorf("event %+v: want the exec of sh with %s", ev, marker)
	}
	for _, l := range append(before, line) {
		if !strings.Contains(l, `"kind":"process_exec"`) {
			t.Errorf("the kind filter let through %s", l)
		}
	}

	if err := exec.Command("/bin/true", marker).Run(); err != nil {
		t.Fatal(err)
	}
	line, before = compactOut.r.next(t, marker)
	if !strings.HasPrefix(line, "🚀 exec ") || !strings.Contains(line, "/true "+marker) {
		t.Errorf("compact line %q: want the icon, the kind and the command", line)
	}
	for _, l := range before {
		if !strings.Contains(l, "/true") {
			t.Errorf("the binary filter let through %q", l)
		}
	}

	s := status(t, bin, sock)
	if s.Version == "" || s.PID != agent.Process.Pid || s.Events.Total == 0 || len(s.Sensors) == 0 ||
		s.Sensors[0].Mode != "full" || s.MetricsAddress == "" {
		t.Errorf("status %+v", s)
	}
	text, err := exec.Command(bin, "status", "--socket", sock).CombinedOutput()
	if err != nil {
		t.Fatalf("vigil status: %v: %s", err, text)
	}
	for _, want := range []string{"SENSOR", "process", "full", "DROPPED", "OUTPUT", "file", "api", "2 live streams"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("vigil status does not show %q:\n%s", want, text)
		}
	}

	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent exited with %v after SIGTERM; stderr:\n%s", err, agentErr.String())
	}
	for _, e := range []*eventsChild{jsonOut, compactOut} {
		if err := e.cmd.Wait(); err != nil {
			t.Errorf("vigil events did not end cleanly with the agent: %v: %s", err, e.stderr.String())
		}
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket still there after the agent stopped: %v", err)
	}
}

// TestClientsSayWhatToDo: without an agent, the commands fail saying how
// to start one.
func TestClientsSayWhatToDo(t *testing.T) {
	bin := buildVigil(t)
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{{"events", "--socket", sock}, {"status", "--socket", sock}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "start one with `sudo vigil run`") {
			t.Errorf("vigil %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	out, err := exec.Command(bin, "events", "--socket", sock, "--severity", "urgent").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--severity") {
		t.Errorf("bad severity: %v: %s", err, out)
	}
}

type eventsChild struct {
	cmd    *exec.Cmd
	r      *lineReader
	stderr syncBuffer
}

func startEvents(t *testing.T, bin string, args ...string) *eventsChild {
	t.Helper()
	e := &eventsChild{cmd: exec.Command(bin, append([]string{"events"}, args...)...)}
	e.cmd.Stderr = &e.stderr
	stdout, err := e.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.cmd.Process.Kill() })
	e.r = readLines(t, stdout)
	return e
}

func status(t *testing.T, bin, sock string) api.Status {
	t.Helper()
	out, err := exec.Command(bin, "status", "--socket", sock, "--format", "json").Output()
	if err != nil {
		t.Fatalf("vigil status: %v", err)
	}
	var s api.Status
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("vigil status --format json: %v: %s", err, out)
	}
	return s
}
