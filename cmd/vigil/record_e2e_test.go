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

	var stderr syncBuffer
	rec := exec.Command(bin, "record", "--cgroup", cg.Rel(), "-o", capture)
	rec.Stderr = &stderr
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- rec.Wait() }()
	stopped := false
	defer func() {
		if !stopped { // only if the test fails before SIGINT
			rec.Process.Kill()
			<-exited
		}
	}()
	waitForOrExit(t, "recorder start", exited, &stderr, func() bool { return strings.Contains(stderr.String(), "msg=started") })

	marker := fmt.Sprintf("vigil-e2e-record-%d", time.Now().UnixNano())
	sh := exec.Command("/bin/sh", "-c", "exit 3", marker)
	sh.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if err := sh.Run(); err == nil {
		t.Fatal("sh -c 'exit 3' succeeded")
	}
	waitForOrExit(t, "the marker's exit in the capture", exited, &stderr, func() bool {
		raw, _ := os.ReadFile(capture)
		return strings.Contains(string(raw), marker) && strings.Contains(string(raw), `"process_exit"`)
	})
	if err := rec.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if err := <-exited; err != nil {
		t.Fatalf("record exited with %v after SIGINT; stderr:\n%s", err, stderr.String())
	}

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
	if !strings.Contains(errOut, "0 lines were not events") {
		t.Errorf("replay found lines that are not events in the capture: %s", errOut)
	}
}

// waitForOrExit is waitFor that gives up, with the child's stderr, as
// soon as the child has exited.
func waitForOrExit(t *testing.T, what string, exited chan error, stderr *syncBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		select {
		case err := <-exited:
			exited <- err // for whoever waits next
			t.Fatalf("waiting for %s: the child exited: %v\n%s", what, err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; stderr:\n%s", what, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
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
