package main

import (
	"bufio"
	"encoding/json"
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

// TestRecordThenReplay records a real process run in a cgroup the test
// makes, stops the recorder with SIGINT, and replays the capture with a
// rule that matches that process: the alert must come out of the replay.
func TestRecordThenReplay(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir := t.TempDir()
	capture := filepath.Join(dir, "capture.json")
	cg := testenv.NewCgroup(t)

	rec := startChild(t, exec.Command(bin, "record", "--cgroup", cg.Rel(), "-o", capture), "recorder")

	marker := exitInCgroup(t, cg, "record", 3)
	rec.waitFor(t, "the marker's exit in the capture", func() bool {
		raw, _ := os.ReadFile(capture)
		return strings.Contains(string(raw), marker) && strings.Contains(string(raw), `"process_exit"`)
	})
	rec.stop(t, syscall.SIGINT)

	// everything recorded is an event of the test's cgroup: the recorder
	// evaluates no rules and watches that cgroup only
	var st syscall.Stat_t
	if err := syscall.Stat(cg.Path, &st); err != nil {
		t.Fatal(err)
	}
	cgID := st.Ino // a cgroup v2 id is its directory's inode number
	evs := readEvents(t, capture)
	var sawExec bool
	for _, ev := range evs {
		if ev.Kind == event.KindAlert {
			t.Errorf("record wrote an alert: %+v", ev)
		}
		if ev.Process == nil || ev.Process.Cgroup.ID != cgID {
			t.Errorf("event outside the test's cgroup (id %d) recorded: %+v", cgID, ev)
		}
		if ev.Kind == event.KindProcessExec && ev.Process != nil && slices.Contains(ev.Process.Args, marker) {
			sawExec = true
		}
	}
	if !sawExec {
		t.Fatalf("no process_exec of %s among the %d recorded events", marker, len(evs))
	}

	rules := filepath.Join(dir, "rules.yaml")
	writeFile(t, rules, fmt.Sprintf(`
- rule: e2e_recorded_marker
  description: the recorded marker ran
  condition: kind == "process_exec" && process.args.exists(a, a == "%s")
  severity: medium
  message: "marker ran {process.binary}"
`, marker))
	out, errOut, code := vigilCmd(t, bin, "replay", "--no-default-rules", "--rules", rules, "--format", "json", capture)
	if code != 0 {
		t.Fatalf("replay: exit %d\n%s", code, errOut)
	}
	var alerts []*event.Alert
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if _, al := jsonLine(t, line); al != nil {
			alerts = append(alerts, al)
		}
	}
	if len(alerts) != 1 || alerts[0].Rule.Name != "e2e_recorded_marker" || alerts[0].Event == nil ||
		!slices.Contains(alerts[0].Event.Process.Args, marker) {
		t.Errorf("replay of the capture: alerts %+v, want one e2e_recorded_marker on %s\nstderr: %s", alerts, marker, errOut)
	}
	if !strings.Contains(errOut, "; 0 lines were not events") {
		t.Errorf("replay found lines that are not events in the capture: %s", errOut)
	}
}

// child is a vigil process (run or record) a test started and waits on.
type child struct {
	cmd     *exec.Cmd
	stderr  *syncBuffer
	exited  chan error
	stopped bool
}

// exitInCgroup runs a shell in cg that exits with code, a marker of the test
// ("vigil-e2e-<what>-<nanoseconds>") among its arguments, and returns the
// marker.
func exitInCgroup(t *testing.T, cg testenv.Cgroup, what string, code int) string {
	t.Helper()
	marker := fmt.Sprintf("vigil-e2e-%s-%d", what, time.Now().UnixNano())
	script := fmt.Sprintf("exit %d", code)
	sh := exec.Command("/bin/sh", "-c", script, marker)
	sh.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if err := sh.Run(); err == nil {
		t.Fatalf("sh -c '%s' succeeded", script)
	}
	return marker
}

// startChild starts cmd, whose stderr it keeps, and waits until it logs
// that it started. Unless the test stopped it, it is killed at the end.
func startChild(t *testing.T, cmd *exec.Cmd, what string) *child {
	t.Helper()
	c := &child{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if !c.stopped { // only if the test failed before stopping it
			_ = cmd.Process.Kill()
			<-c.exited
		}
	})
	c.waitFor(t, what+" start", func() bool { return strings.Contains(c.stderr.String(), "msg=started") })
	return c
}

// waitFor is waitFor that gives up, with the child's stderr, as soon as
// the child has exited.
func (c *child) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for !cond() {
		select {
		case err := <-c.exited:
			c.exited <- err // for whoever waits next
			t.Fatalf("waiting for %s: the child exited: %v\n%s", what, err, c.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; stderr:\n%s", what, c.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop signals the child and fails the test unless it then exits cleanly.
func (c *child) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	c.stopped = true
	if err := <-c.exited; err != nil {
		t.Fatalf("%s exited with %v after %v; stderr:\n%s", c.cmd.Args[1], err, sig, c.stderr.String())
	}
}

// readEvents decodes a file of JSON lines.
func readEvents(t *testing.T, path string) []*event.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*event.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		ev := new(event.Event)
		if err := json.Unmarshal(sc.Bytes(), ev); err != nil {
			t.Fatalf("%s: not one JSON event per line: %v: %s", path, err, sc.Text())
		}
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
