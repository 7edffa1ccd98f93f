package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// lineReader collects a child's output lines as they come.
type lineReader struct {
	lines chan string
}

func readLines(_ *testing.T, r io.Reader) *lineReader {
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
	timeout := time.After(testenv.WaitLimit)
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
			t.Fatalf("no line with %s within %v; got %d others", marker, testenv.WaitLimit, len(before))
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
	marks := newMarkers()
	rulesFile := filepath.Join(dir, "e2e-rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(marks.rules()), 0o600); err != nil {
		t.Fatal(err)
	}
	var agentErr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--socket", sock, "--events", "all", "--format", "json",
		"--output", filepath.Join(dir, "events.json"), "--metrics-addr", "127.0.0.1:0", "--rules", rulesFile)...)
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

	more := []*eventsChild{
		checkPIDFilter(t, bin, sock),
		checkAlertFilters(t, bin, sock, marks),
	}
	more = append(more, checkContainerFilters(t, bin, sock)...)

	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent exited with %v after SIGTERM; stderr:\n%s", err, agentErr.String())
	}
	for _, e := range append([]*eventsChild{jsonOut, compactOut}, more...) {
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
	// a kind that does not exist is refused before connecting, with the
	// valid ones and the nearest
	out, err = exec.Command(bin, "events", "--socket", sock, "--kind", "proces_exec").CombinedOutput()
	for _, want := range []string{`--kind: unknown event kind "proces_exec"`, "did you mean process_exec?", "valid kinds: process_exec,", "personality"} {
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("vigil events --kind proces_exec: %v: %s: want it to say %q", err, out, want)
		}
	}
	out, err = exec.Command(bin, "events", "--socket", sock, "--kind", "bogus").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown event kind "bogus"`) || strings.Contains(string(out), "no agent") {
		t.Errorf("vigil events --kind bogus: %v: %s", err, out)
	}
}

// markers are the arguments that make the test's rules fire: a medium
// alert, a critical one, and a second medium one after it.
type markers struct{ mediumA, critical, mediumB string }

func newMarkers() markers {
	n := time.Now().UnixNano()
	return markers{fmt.Sprintf("vigil-e2e-medium-a-%d", n), fmt.Sprintf("vigil-e2e-critical-%d", n), fmt.Sprintf("vigil-e2e-medium-b-%d", n)}
}

func (m markers) rules() string {
	return fmt.Sprintf(`
- rule: e2e_marker_medium
  description: the e2e test's medium markers ran
  condition: kind == "process_exec" && process.args.exists(a, a == "%s" || a == "%s")
  severity: medium
  message: "medium marker {process.binary}"
- rule: e2e_marker_critical
  description: the e2e test's critical marker ran
  condition: kind == "process_exec" && process.args.exists(a, a == "%s")
  severity: critical
  message: "critical marker {process.binary}"
`, m.mediumA, m.mediumB, m.critical)
}

// waitSubscribers waits until the agent counts n live streams.
func waitSubscribers(t *testing.T, bin, sock string, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d subscribers", n), func() bool { return status(t, bin, sock).Subscribers == n })
}

// jsonLine decodes a stream line as an event or an alert.
func jsonLine(t *testing.T, line string) (ev *event.Event, al *event.Alert) {
	t.Helper()
	var head struct {
		Kind event.Kind `json:"kind"`
	}
	if err := json.Unmarshal([]byte(line), &head); err != nil {
		t.Fatalf("not JSON: %v: %s", err, line)
	}
	if head.Kind == event.KindAlert {
		al = new(event.Alert)
		if err := json.Unmarshal([]byte(line), al); err != nil {
			t.Fatalf("not an alert: %v: %s", err, line)
		}
		return nil, al
	}
	ev = new(event.Event)
	if err := json.Unmarshal([]byte(line), ev); err != nil {
		t.Fatalf("not an event: %v: %s", err, line)
	}
	return ev, nil
}

// checkPIDFilter: a process waits on its stdin while a stream filtered
// on its pid is opened, then execs the marker: the stream gets the exec,
// and everything it carried before is that pid's.
func checkPIDFilter(t *testing.T, bin, sock string) *eventsChild {
	t.Helper()
	marker := fmt.Sprintf("vigil-e2e-pid-%d", time.Now().UnixNano())
	proc := exec.Command("/bin/sh", "-c", `read _; exec /bin/true "$0"`, marker)
	stdin, err := proc.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	pid := proc.Process.Pid
	before := status(t, bin, sock).Subscribers
	e := startEvents(t, bin, "--socket", sock, "--pid", fmt.Sprint(pid), "-o", "json")
	waitSubscribers(t, bin, sock, before+1)
	stdin.Write([]byte("go\n"))
	stdin.Close()
	if err := proc.Wait(); err != nil {
		t.Fatal(err)
	}
	line, earlier := e.r.next(t, marker)
	for _, l := range append(earlier, line) {
		ev, al := jsonLine(t, l)
		if al != nil {
			ev = al.Event
		}
		if ev == nil || ev.Process == nil || ev.Process.PID != uint32(pid) {
			t.Errorf("the pid filter (%d) let through %s", pid, l)
		}
	}
	if ev, _ := jsonLine(t, line); ev == nil || ev.Kind != event.KindProcessExec {
		t.Errorf("want the exec of the marker, got %s", line)
	}
	return e
}

// checkAlertFilters: the medium marker runs, then the critical one, then
// the second medium one. The --severity high stream gets the critical
// alert and did not get the first medium one before it; the --rule
// stream gets both medium alerts and not the critical one between them.
// Alerts reach a stream in the order they were raised, so what was not
// there before the later line never will be.
func checkAlertFilters(t *testing.T, bin, sock string, m markers) *eventsChild {
	t.Helper()
	before := status(t, bin, sock).Subscribers
	sev := startEvents(t, bin, "--socket", sock, "--severity", "high", "-o", "json")
	rule := startEvents(t, bin, "--socket", sock, "--rule", "e2e_marker_m*", "-o", "json")
	waitSubscribers(t, bin, sock, before+2)
	for _, arg := range []string{m.mediumA, m.critical, m.mediumB} {
		if err := exec.Command("/bin/true", arg).Run(); err != nil {
			t.Fatal(err)
		}
	}
	line, earlier := sev.r.next(t, m.critical)
	for _, l := range append(earlier, line) {
		_, al := jsonLine(t, l)
		if al == nil || (al.Rule.Severity != event.SeverityHigh && al.Rule.Severity != event.SeverityCritical) {
			t.Errorf("the severity filter let through %s", l)
		}
		if strings.Contains(l, m.mediumA) {
			t.Errorf("the severity filter let the medium alert through: %s", l)
		}
	}
	if _, al := jsonLine(t, line); al == nil || al.Rule.Name != "e2e_marker_critical" {
		t.Errorf("want the critical marker's alert, got %s", line)
	}
	line, earlier = rule.r.next(t, m.mediumB)
	sawA := false
	for _, l := range append(earlier, line) {
		_, al := jsonLine(t, l)
		if al == nil || !strings.HasPrefix(al.Rule.Name, "e2e_marker_m") {
			t.Errorf("the rule filter let through %s", l)
		}
		sawA = sawA || strings.Contains(l, m.mediumA)
	}
	if !sawA {
		t.Errorf("the rule stream did not carry the first medium alert")
	}
	sev.cmd.Process.Signal(syscall.SIGINT)
	if err := sev.cmd.Wait(); err != nil {
		t.Errorf("vigil events did not end cleanly on SIGINT: %v: %s", err, sev.stderr.String())
	}
	return rule
}

// checkContainerFilters runs the marker in a cgroup named as docker
// names a container's (cgroupfs driver: a bare 64-digit id). The stream
// filtered on the id's prefix gets it, with the container's id; the
// stream of the host gets the marker run on the host afterwards and not
// the container's before it.
func checkContainerFilters(t *testing.T, bin, sock string) []*eventsChild {
	t.Helper()
	cg := testenv.NewCgroup(t)
	id := fmt.Sprintf("%016x%016x%016x%016x", rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64())
	path := filepath.Join(cg.Path, id)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Close(fd)
		waitFor(t, "the container cgroup to go", func() bool {
			err := os.Remove(path)
			return err == nil || os.IsNotExist(err)
		})
	})
	before := status(t, bin, sock).Subscribers
	inside := startEvents(t, bin, "--socket", sock, "--container", id[:12], "-o", "json")
	host := startEvents(t, bin, "--socket", sock, "--container", "host", "--kind", "process_exec", "--binary", "true", "-o", "json")
	waitSubscribers(t, bin, sock, before+2)

	stamp := time.Now().UnixNano()
	inMarker, hostMarker := fmt.Sprintf("vigil-e2e-in-container-%d", stamp), fmt.Sprintf("vigil-e2e-on-host-%d", stamp)
	cmd := exec.Command("/bin/true", inMarker)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("/bin/true", hostMarker).Run(); err != nil {
		t.Fatal(err)
	}
	line, earlier := inside.r.next(t, inMarker)
	for _, l := range append(earlier, line) {
		ev, al := jsonLine(t, l)
		if al != nil {
			ev = al.Event
		}
		if ev == nil || ev.Process == nil || ev.Process.Container == nil || ev.Process.Container.ID != id {
			t.Errorf("the container filter (%s) let through %s", id[:12], l)
		}
	}
	line, earlier = host.r.next(t, hostMarker)
	for _, l := range append(earlier, line) {
		ev, _ := jsonLine(t, l)
		if ev == nil || ev.Process == nil || (ev.Process.Container != nil && ev.Process.Container.ID != event.HostContainerID) {
			t.Errorf("the host filter let through %s", l)
		}
		if strings.Contains(l, inMarker) {
			t.Errorf("the host filter let the container's exec through: %s", l)
		}
	}
	return []*eventsChild{inside, host}
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

// TestEveryCommandHasExamples walks the whole command tree, cobra's help
// and completion commands included.
func TestEveryCommandHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no examples in --help", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
}

// TestEventsHelpShowsEveryIcon: the compact format's legend in --help
// names every kind an output can carry, with its icon.
func TestEventsHelpShowsEveryIcon(t *testing.T) {
	long := newEventsCmd().Long
	for _, k := range append(output.Kinds(), event.KindAlert) {
		icon, label := output.KindIcon(k)
		if !strings.Contains(long, icon) || !strings.Contains(long, label) {
			t.Errorf("vigil events --help does not show %s %s (%s)", icon, label, k)
		}
	}
	for _, line := range strings.Split(long, "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("help line of %d characters: %q", n, line)
		}
	}
}
