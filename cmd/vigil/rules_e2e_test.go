package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/rules"
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
	// the pack's rules and files, and the one of each this test adds
	srcs, err := rules.Sources()
	if err != nil {
		t.Fatal(err)
	}
	pack, err := rule.Compile(srcs)
	if err != nil {
		t.Fatal(err)
	}
	enabled := 0
	for _, r := range pack.Rules() {
		if r.Enabled {
			enabled++
		}
	}
	want := fmt.Sprintf("ok: %d rules (%d enabled) from %d files", len(pack.Rules())+1, enabled+1, len(srcs)+1)
	if code != 0 || !strings.Contains(out, want) {
		t.Errorf("valid file: exit %d, output %q, want %q", code, out, want)
	}
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "- rule: my_shell\n  description: a shell\n  condition: kind == \"process_exec\" && proces.name == \"sh\"\n  severity: low\n")
	out, errOut, code := vigilCmd(t, bin, "rules", "validate", bad)
	want = bad + ":3:40: rule my_shell: condition: unknown name proces (did you mean process?)"
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

// TestRulesTestRefusesTypos: a fixture naming an event kind or a rule that
// does not exist is an error with its place, never a passing test.
func TestRulesTestRefusesTypos(t *testing.T) {
	bin := buildVigil(t)
	dir := t.TempDir()
	for _, c := range []struct{ name, fixture, want string }{
		{"kind", `tests:
  - name: a typo in the kind passes nothing
    events:
      - {kind: proces_exec, process: {binary: /bin/sh, args: [sh]}}
    expect: []
`, `:4:16: test "a typo in the kind passes nothing": events[0].kind: unknown event kind "proces_exec" (did you mean process_exec?)`},
		{"rule", `tests:
  - name: a typo in the expected rule
    events:
      - {kind: process_exec, process: {binary: /usr/bin/ls, args: [ls]}}
    expect:
      - rule: terminal_shel_in_container
`, `:6:15: test "a typo in the expected rule": expect[0].rule: no loaded rule is named "terminal_shel_in_container" (did you mean terminal_shell_in_container?)`},
	} {
		fixture := filepath.Join(dir, c.name+".yaml")
		writeFile(t, fixture, c.fixture)
		out, errOut, code := vigilCmd(t, bin, "rules", "test", fixture)
		if code != 1 || !strings.Contains(out, fixture+c.want) || strings.Contains(out, "PASS") {
			t.Errorf("%s typo: exit %d, stdout:\n%s\nstderr:\n%s\nwant %s%s", c.name, code, out, errOut, fixture, c.want)
		}
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
	if code != 1 || !strings.Contains(errOut, rec+":2475: ") || !strings.Contains(errOut, "; 1 lines were not events") {
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
	agent := exec.Command(bin, runArgs(t, "--no-default-rules", "--rules", rules, "--format", "json", "--output", out,
		"--socket", "", "--alert-refill", "0")...)
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

// alertsIn reads the alerts of a JSON lines file the agent writes.
func alertsIn(t *testing.T, path string) []*event.Alert {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []*event.Alert
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if !bytes.Contains(line, []byte(`"kind":"alert"`)) {
			continue
		}
		var a event.Alert
		if err := json.Unmarshal(line, &a); err != nil {
			continue // a line still being written
		}
		if a.Event != nil && a.Event.Process != nil {
			out = append(out, &a)
		}
	}
	return out
}

// expectAlert is an alert a test waits for: the rule, and what makes the
// alert the test's own (the process that did it, the file).
type expectAlert struct {
	rule, what string
	match      func(*event.Alert) bool
}

// TestPackRulesFireOnRealActions runs the built agent with the default
// pack (throttling off, so that other work on this shared machine cannot
// hold an alert back) and does, with real system calls, what rules of
// several tactics are about; each alert must come, carrying the real
// event the sensors made. The files are in a directory this test makes
// below /tmp (the file sensor watches executables appearing there, and
// any path with a .ssh component); the only system file touched is
// /etc/shadow, read by cat, output discarded.
func TestPackRulesFireOnRealActions(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir, err := os.MkdirTemp("/tmp", "vigil-pack-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // nobody runs a program from it below
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "alerts.json")
	var stderr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--format", "json", "--output", out, "--socket", "", "--alert-refill", "0")...)
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer agent.Process.Kill() // only if the test fails before SIGTERM
	waitFor(t, "agent start", func() bool { return strings.Contains(stderr.String(), "msg=started") })

	run := func(cmd *exec.Cmd) int {
		t.Helper()
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v", cmd.Args, err)
		}
		return cmd.Process.Pid
	}
	byPID := func(pid int) func(*event.Alert) bool {
		return func(a *event.Alert) bool { return int(a.Event.Process.PID) == pid }
	}
	var want []expectAlert

	// privilege escalation (T1548.001): a program copied to /tmp gets
	// its set-user-ID bit
	prog := filepath.Join(dir, "dropped-true")
	run(exec.Command("cp", "/bin/true", prog))
	chmod := run(exec.Command("chmod", "u+s", prog))
	want = append(want, expectAlert{"setuid_bit_set", "chmod u+s " + prog, func(a *event.Alert) bool {
		return byPID(chmod)(a) && a.Event.File != nil && a.Event.File.Path == prog
	}})
	// execution (T1204.002) and ingress tool transfer (T1105): it runs
	// from /tmp, within the hour after it was written
	ran := run(exec.Command(prog))
	want = append(want,
		expectAlert{"exec_from_temp_dir", "running " + prog, byPID(ran)},
		expectAlert{"dropped_executable_executed", "running " + prog + " after cp wrote it", byPID(ran)})
	// ... and an ordinary user runs it as root, where /tmp honours setuid
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Flags&unix.ST_NOSUID == 0 {
		cmd := exec.Command(prog)
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		asNobody := run(cmd)
		want = append(want, expectAlert{"setuid_binary_outside_system_dirs", "nobody running " + prog, byPID(asNobody)})
	} else {
		t.Logf("%s is mounted nosuid: setuid_binary_outside_system_dirs is not tried", dir)
	}

	// credential access (T1552.004): a private key (this test's, with
	// nothing in it) read by cat
	key := filepath.Join(dir, ".ssh", "id_ed25519")
	if err := os.Mkdir(filepath.Dir(key), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, key, "not a key: written by a vigil test\n")
	catKey := run(exec.Command("cat", key))
	want = append(want, expectAlert{"ssh_private_key_read", "cat " + key, func(a *event.Alert) bool {
		return byPID(catKey)(a) && a.Event.File != nil && a.Event.File.Path == key
	}})
	// credential access (T1003.008): /etc/shadow read by cat
	catShadow := run(exec.Command("cat", "/etc/shadow"))
	want = append(want, expectAlert{"shadow_file_read", "cat /etc/shadow", func(a *event.Alert) bool {
		return byPID(catShadow)(a) && a.Event.File != nil && a.Event.File.Path == "/etc/shadow"
	}})

	// execution (T1059.004): a reverse shell, bash putting a TCP socket
	// to a listener of this test on its standard output
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	said := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			said <- err.Error()
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		said <- string(b)
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	shell := run(exec.Command("bash", "-c", fmt.Sprintf("exec 1<>/dev/tcp/127.0.0.1/%d; echo vigil-reverse-shell", port)))
	if got := <-said; !strings.Contains(got, "vigil-reverse-shell") {
		t.Fatalf("the listener got %q, not the shell's output", got)
	}
	want = append(want,
		expectAlert{"reverse_shell_socket_redirect", fmt.Sprintf("bash's stdout on a socket to port %d", port), func(a *event.Alert) bool {
			return byPID(shell)(a) && a.Event.Network != nil && int(a.Event.Network.DPort) == port
		}},
		expectAlert{"reverse_shell_one_liner", "bash -c 'exec 1<>/dev/tcp/…'", byPID(shell)})

	// network sniffing (T1040): this test opens a packet socket
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		t.Fatalf("packet socket: %v", err)
	}
	unix.Close(fd)
	me := os.Getpid()
	want = append(want, expectAlert{"raw_socket_created", "a packet socket of this test", func(a *event.Alert) bool {
		return byPID(me)(a) && a.Event.Network != nil && a.Event.Network.Family == "packet"
	}})

	// discovery (T1082, T1033): three discovery tools from one parent
	for _, tool := range []string{"whoami", "id", "uname"} {
		run(exec.Command(tool))
	}
	want = append(want, expectAlert{"discovery_burst", "whoami, id and uname run by this test", func(a *event.Alert) bool {
		return int(a.Event.Process.PPID) == me
	}})

	found := func() []string {
		alerts := alertsIn(t, out)
		var missing []string
		for _, w := range want {
			if !slices.ContainsFunc(alerts, func(a *event.Alert) bool { return a.Rule.Name == w.rule && w.match(a) }) {
				missing = append(missing, w.rule+" ("+w.what+")")
			}
		}
		return missing
	}
	deadline := time.Now().Add(testenv.WaitLimit)
	for len(found()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if missing := found(); len(missing) > 0 {
		var ours []string
		for _, a := range alertsIn(t, out) {
			if p := a.Event.Process; int(p.PID) == me || int(p.PPID) == me {
				ours = append(ours, a.Rule.Name+": "+a.Message)
			}
		}
		t.Errorf("no alert for:\n  %s\nthis test's alerts:\n  %s", strings.Join(missing, "\n  "), strings.Join(ours, "\n  "))
	}
	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(); err != nil {
		t.Fatalf("agent exit: %v\n%s", err, stderr.String())
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
