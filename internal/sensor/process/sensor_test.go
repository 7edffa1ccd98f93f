package process

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/sensortest"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/wire"
)

func TestMain(m *testing.M) {
	if os.Getenv(exitGroupHelperEnv) != "" {
		os.Exit(exitGroupHelper())
	}
	testenv.Main(m)
}

// recorder holds every raw record the sensor wrote while a test's
// function ran.
type recorder struct {
	raws [][]byte
}

// record loads the sensor, runs fn, waits for marker's exec, and returns the
// records seen, decoded, with their raw bytes.
func record(t *testing.T, fn func()) (*recorder, *ring.Ring) {
	t.Helper()
	return recordScoped(t, ring.Scope{}, fn)
}

// recordEnv is record with the sensor watching env's variables.
func recordEnv(t *testing.T, env Env, fn func()) (*recorder, *ring.Ring) {
	t.Helper()
	return recordWith(t, ring.Scope{}, Options{CgroupV1Subsys: -1, Env: env}, fn)
}

// recordScoped is record with the sensor limited to scope.
func recordScoped(t *testing.T, scope ring.Scope, fn func()) (*recorder, *ring.Ring) {
	t.Helper()
	return recordWith(t, scope, Options{CgroupV1Subsys: -1, Env: DefaultEnv()}, fn)
}

func recordWith(t *testing.T, scope ring.Scope, opts Options, fn func()) (*recorder, *ring.Ring) {
	t.Helper()
	_, w := sensortest.Start(t, sensortest.Options{Ring: ring.Config{Scope: scope}}, func(r *ring.Ring) (*Sensor, error) {
		return Load(r, opts)
	})
	fn()
	w.Stop()
	return &recorder{raws: w.Raws()}, w.Ring()
}

func decoder() Decoder { return Decoder{Clock: kernel.NewBootClock().Time} }

// execOf finds the exec record of a process whose argv holds marker.
func execOf(t *testing.T, rec *recorder, marker string) (*event.Event, []byte) {
	t.Helper()
	d := decoder()
	for _, raw := range rec.raws {
		h, err := wire.ParseHeader(raw)
		if err != nil {
			t.Fatalf("record does not parse: %v", err)
		}
		if h.Kind != wire.ProcessExec {
			continue
		}
		ev, err := d.Exec(raw)
		if err != nil {
			t.Fatalf("exec record does not decode: %v", err)
		}
		if slices.Contains(ev.Process.Args, marker) {
			return ev, raw
		}
	}
	t.Fatalf("no exec record with %q among %d records", marker, len(rec.raws))
	return nil, nil
}

func TestExecRecord(t *testing.T) {
	marker := fmt.Sprintf("vigil-process-%d", time.Now().UnixNano())
	dir := t.TempDir()
	var pid int
	rec, _ := record(t, func() {
		cmd := exec.Command("/bin/sh", "-c", "exit 3", marker)
		cmd.Dir = dir
		cmd.Run()
		pid = cmd.Process.Pid
	})
	ev, raw := execOf(t, rec, marker)
	p := ev.Process
	if p.PID != uint32(pid) || p.PPID != uint32(os.Getpid()) {
		t.Errorf("pid/ppid = %d/%d, want %d/%d", p.PID, p.PPID, pid, os.Getpid())
	}
	if want, _ := filepath.EvalSymlinks("/bin/sh"); p.Binary != want {
		t.Errorf("binary = %q, want %q", p.Binary, want)
	}
	if p.Cwd != dir {
		t.Errorf("cwd = %q, want %q", p.Cwd, dir)
	}
	if p.Comm != "sh" || p.Filename != "/bin/sh" {
		t.Errorf("comm %q filename %q, want sh and /bin/sh", p.Comm, p.Filename)
	}
	if len(p.Truncated) != 0 {
		t.Errorf("truncated = %v, want nothing cut", p.Truncated)
	}
	seed(t, "FuzzDecodeExec", raw)

	var sawExit, sawFork bool
	d := decoder()
	for _, raw := range rec.raws {
		h, _ := wire.ParseHeader(raw)
		if h.Pid != uint32(pid) {
			continue
		}
		switch h.Kind {
		case wire.ProcessExit:
			ev, err := d.Exit(raw)
			if err != nil || ev.Exit.Code != 3 {
				t.Errorf("exit record: %v %+v, want code 3", err, ev)
			}
			if err == nil && (h.CgroupId == 0 || ev.Process.Cgroup.ID != h.CgroupId) {
				t.Errorf("exit's cgroup id %d, want the header's %d (not 0)", ev.Process.Cgroup.ID, h.CgroupId)
			}
			sawExit = true
			seed(t, "FuzzDecodeExit", raw)
		case wire.ProcessFork:
			ev, err := d.Fork(raw)
			if err != nil || ev.Process.PPID != uint32(os.Getpid()) {
				t.Errorf("fork record: %v %+v, want ppid %d", err, ev, os.Getpid())
			}
			sawFork = true
			seed(t, "FuzzDecodeFork", raw)
		}
	}
	if !sawExit || !sawFork {
		t.Errorf("fork seen %v, exit seen %v: want both", sawFork, sawExit)
	}
}

// TestLongArgvIsFlagged: argv beyond 4 KiB is cut, the event says so, and
// the kernel counts the truncation.
func TestLongArgvIsFlagged(t *testing.T) {
	marker := fmt.Sprintf("vigil-long-%d", time.Now().UnixNano())
	long := strings.Repeat("x", 3000)
	rec, r := record(t, func() {
		exec.Command("/bin/true", marker, long, long).Run()
	})
	ev, raw := execOf(t, rec, marker)
	if !slices.Contains(ev.Process.Truncated, "args") {
		t.Errorf("truncated = %v, want args", ev.Process.Truncated)
	}
	if n := len(strings.Join(ev.Process.Args, "\x00")); n > 4096 || n < 4000 {
		t.Errorf("argv holds %d bytes, want just under 4096", n)
	}
	if ev.Process.Args[1] != marker || ev.Process.Args[2] != long {
		t.Errorf("the arguments before the cut are not intact")
	}
	losses, err := r.Losses()
	if err != nil {
		t.Fatal(err)
	}
	if ring.Lost(losses, ring.Truncated, event.KindProcessExec) == 0 {
		t.Errorf("losses = %+v, want a truncated process_exec counted", losses)
	}
	seed(t, "FuzzDecodeExec", raw)
}

// TestDeepCwdIsFlagged: a working directory deeper than the walk goes is
// reported cut, not silently shortened.
func TestDeepCwdIsFlagged(t *testing.T) {
	dir := t.TempDir()
	deep := dir
	for i := 0; i < 70; i++ {
		deep = filepath.Join(deep, "d")
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := fmt.Sprintf("vigil-deep-%d", time.Now().UnixNano())
	rec, _ := record(t, func() {
		cmd := exec.Command("/bin/true", marker)
		cmd.Dir = deep
		cmd.Run()
	})
	ev, _ := execOf(t, rec, marker)
	if !slices.Contains(ev.Process.Truncated, "cwd") {
		t.Errorf("truncated = %v for a cwd %d levels deep, want cwd", ev.Process.Truncated, 70)
	}
}

// seed stores a real record as a fuzz seed when -capture is given.
func seed(t *testing.T, fuzzName string, raw []byte) {
	sensortest.Seed(t, fuzzName, fmt.Sprintf("%s-%d", t.Name(), len(raw)), raw)
}

// TestMemfdExec: a program run from a memfd (fileless) is named by the
// memfd, as /proc/PID/exe names it, not "/".
func TestMemfdExec(t *testing.T) {
	marker := fmt.Sprintf("vigil-memfd-%d", time.Now().UnixNano())
	rec, _ := record(t, func() {
		fd, err := unix.MemfdCreate("vigil-fileless", 0)
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(fd), "memfd")
		defer f.Close()
		raw, err := os.ReadFile("/bin/true")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(raw); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(fmt.Sprintf("/proc/self/fd/%d", fd), marker)
		cmd.ExtraFiles = []*os.File{f} // inherited as fd 3 by the child
		cmd.Path = "/proc/self/fd/3"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("run from memfd: %v %s", err, out)
		}
	})
	ev, _ := execOf(t, rec, marker)
	if ev.Process.Binary != "/memfd:vigil-fileless" {
		t.Errorf("binary = %q, want /memfd:vigil-fileless", ev.Process.Binary)
	}
	if ev.Process.Executable == nil || !ev.Process.Executable.Deleted {
		t.Errorf("executable = %+v, want it marked deleted (a memfd has no name on disk)", ev.Process.Executable)
	}
}

// waitingShell is a shell that runs script once a line arrives on its
// stdin, with marker as $0: a process whose pid is known before it execs.
type waitingShell struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startWaitingShell(t *testing.T, script, marker string) *waitingShell {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "read go; "+script, marker)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	return &waitingShell{cmd, stdin}
}

// release lets the shell run its script and waits for it to end.
func (w *waitingShell) release(t *testing.T) {
	t.Helper()
	if _, err := w.stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("shell: %v", err)
	}
}

// TestAgentPIDIsExempt: with the agent's pid set to one child's, that
// child's exec and exit are not reported, while a sibling doing the same
// is, and so is a process the exempt one starts: only the agent's own
// process is exempt, not what it runs.
func TestAgentPIDIsExempt(t *testing.T) {
	nonce := time.Now().UnixNano()
	exemptMarker := fmt.Sprintf("vigil-exempt-%d", nonce)
	siblingMarker := fmt.Sprintf("vigil-sibling-%d", nonce)
	grandchildMarker := fmt.Sprintf("vigil-grandchild-%d", nonce)
	// the exempt one starts a grandchild, then replaces itself (same pid)
	exempt := startWaitingShell(t, `/bin/true "`+grandchildMarker+`"; exec /bin/true "$0"`, exemptMarker)
	sibling := startWaitingShell(t, `exec /bin/true "$0"`, siblingMarker)
	exemptPID := uint32(exempt.cmd.Process.Pid)

	rec, _ := recordScoped(t, ring.Scope{AgentPID: exemptPID}, func() {
		exempt.release(t)
		sibling.release(t)
	})

	ev, _ := execOf(t, rec, siblingMarker)
	if ev.Process.PID != uint32(sibling.cmd.Process.Pid) {
		t.Errorf("sibling's exec has pid %d, want %d", ev.Process.PID, sibling.cmd.Process.Pid)
	}
	grandchild, _ := execOf(t, rec, grandchildMarker)
	if grandchild.Process.PPID != exemptPID {
		t.Errorf("grandchild's ppid = %d, want the exempt process %d", grandchild.Process.PPID, exemptPID)
	}

	var siblingExit bool
	for _, raw := range rec.raws {
		h, err := wire.ParseHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		if h.Pid == exemptPID {
			t.Errorf("record of kind %d from the exempt pid %d", h.Kind, exemptPID)
		}
		siblingExit = siblingExit || h.Kind == wire.ProcessExit && h.Pid == uint32(sibling.cmd.Process.Pid)
	}
	if !siblingExit {
		t.Error("the sibling's exit was not reported")
	}
}
