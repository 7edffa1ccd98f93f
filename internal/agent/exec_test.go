package agent

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func marker(_ *testing.T) string {
	return fmt.Sprintf("vigil-test-%x", rand.Uint64())
}

// worldDir is a temporary directory any user may enter and execute from.
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vigil-agent-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func realPath(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestExecAsNobody: a real binary copied into a test directory runs as uid
// 65534 in a cwd that is not /, and the exec and exit events say exactly
// that.
func TestExecAsNobody(t *testing.T) {
	r := start(t, Config{})
	dir := worldDir(t)
	bin := filepath.Join(dir, "vigil-sh-copy")
	copyFile(t, "/bin/sh", bin)
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	m := marker(t)

	cmd := exec.Command(bin, "-c", "exit 7", m)
	cmd.Dir = work
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
		t.Fatalf("run %s: %v, want exit status 7", bin, err)
	}

	ev := r.waitFor(t, "exec", withArg(event.KindProcessExec, m))
	p := ev.Process
	if p.Binary != bin {
		t.Errorf("binary = %q, want %q", p.Binary, bin)
	}
	if want := []string{bin, "-c", "exit 7", m}; !slices.Equal(p.Args, want) {
		t.Errorf("args = %q, want %q", p.Args, want)
	}
	if p.Cwd != work {
		t.Errorf("cwd = %q, want %q", p.Cwd, work)
	}
	if p.UID != 65534 || p.EUID != 65534 || p.GID != 65534 || p.EGID != 65534 {
		t.Errorf("uid/euid/gid/egid = %d/%d/%d/%d, want 65534 for all", p.UID, p.EUID, p.GID, p.EGID)
	}
	if p.PID != uint32(cmd.Process.Pid) {
		t.Errorf("pid = %d, want %d", p.PID, cmd.Process.Pid)
	}
	if p.PPID != uint32(os.Getpid()) {
		t.Errorf("ppid = %d, want the test's pid %d", p.PPID, os.Getpid())
	}
	self, _ := os.Executable()
	if ev.Parent == nil || ev.Parent.Binary != realPath(t, self) {
		t.Errorf("parent = %+v, want the test binary %s", ev.Parent, self)
	}
	if p.ExecID == "" || ev.Parent != nil && p.ParentExecID != ev.Parent.ExecID {
		t.Errorf("exec_id %q, parent_exec_id %q: want set and linked to the parent", p.ExecID, p.ParentExecID)
	}
	if p.Container == nil || p.Container.ID != event.HostContainerID {
		t.Errorf("container = %+v, want host", p.Container)
	}
	if p.Executable == nil || p.Executable.Inode == 0 {
		t.Errorf("executable = %+v, want the copy's inode", p.Executable)
	} else if st, err := os.Stat(bin); err == nil && p.Executable.Inode != st.Sys().(*syscall.Stat_t).Ino {
		t.Errorf("executable inode %d, want %d", p.Executable.Inode, st.Sys().(*syscall.Stat_t).Ino)
	}
	if p.Namespaces.PID == 0 || p.Namespaces.Mnt == 0 || p.Namespaces.Net == 0 {
		t.Errorf("namespaces = %+v, want all set", p.Namespaces)
	}

	exit := r.waitFor(t, "exit", withArg(event.KindProcessExit, m))
	if exit.Exit == nil || exit.Exit.Code != 7 || exit.Exit.Signal != 0 {
		t.Errorf("exit = %+v, want code 7 and no signal", exit.Exit)
	}
	if exit.Exit != nil && exit.Exit.DurationNS <= 0 {
		t.Errorf("exit duration %d ns, want > 0", exit.Exit.DurationNS)
	}
	if exit.Process.ExecID != p.ExecID {
		t.Errorf("exit's exec_id %q differs from the exec's %q", exit.Process.ExecID, p.ExecID)
	}
}

// TestExecThroughSymlink reports the file the link points at, and keeps
// the name that was executed.
func TestExecThroughSymlink(t *testing.T) {
	r := start(t, Config{})
	dir := worldDir(t)
	link := filepath.Join(dir, "link-to-true")
	if err := os.Symlink("/bin/true", link); err != nil {
		t.Fatal(err)
	}
	m := marker(t)
	if err := exec.Command(link, m).Run(); err != nil {
		t.Fatal(err)
	}
	ev := r.waitFor(t, "exec", withArg(event.KindProcessExec, m))
	if want := realPath(t, "/bin/true"); ev.Process.Binary != want {
		t.Errorf("binary = %q, want %q (the symlink resolved)", ev.Process.Binary, want)
	}
	if ev.Process.Filename != link {
		t.Errorf("filename = %q, want %q (as given to execve)", ev.Process.Filename, link)
	}
}

// TestExecScript: the interpreter is the binary, the script is named.
func TestExecScript(t *testing.T) {
	r := start(t, Config{})
	dir := worldDir(t)
	script := filepath.Join(dir, "hello.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := marker(t)
	if err := exec.Command(script, m).Run(); err != nil {
		t.Fatal(err)
	}
	ev := r.waitFor(t, "exec", withArg(event.KindProcessExec, m))
	p := ev.Process
	if want := realPath(t, "/bin/sh"); p.Binary != want {
		t.Errorf("binary = %q, want the interpreter %q", p.Binary, want)
	}
	if p.Script != script || p.Filename != script {
		t.Errorf("script = %q, filename = %q, want both %q", p.Script, p.Filename, script)
	}
	if want := []string{"/bin/sh", script, m}; !slices.Equal(p.Args, want) {
		t.Errorf("args = %q, want %q", p.Args, want)
	}
	if p.Comm != "hello.sh" {
		t.Errorf("comm = %q, want hello.sh", p.Comm)
	}
}

// TestFailedExecIsNotReported: execve of a missing file is no process_exec.
// A successful exec after it proves the agent had caught up.
func TestFailedExecIsNotReported(t *testing.T) {
	r := start(t, Config{})
	dir := worldDir(t)
	missing := filepath.Join(dir, "does-not-exist")
	m := marker(t)
	if err := exec.Command(missing, m).Run(); err == nil {
		t.Fatal("exec of a missing file succeeded")
	}
	after := marker(t)
	if err := exec.Command("/bin/true", after).Run(); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "exec after the failed one", withArg(event.KindProcessExec, after))
	if got := r.sink.find(withArg(event.KindProcessExec, m)); len(got) > 0 {
		t.Errorf("a failed exec was reported: %+v", got[0].Process)
	}
	if got := r.sink.find(func(ev *event.Event) bool {
		return ev.Kind == event.KindProcessExec && ev.Process.Filename == missing
	}); len(got) > 0 {
		t.Errorf("a failed exec was reported by filename: %+v", got[0].Process)
	}
}

// TestKilledBySignal reports the signal, not an exit code.
func TestKilledBySignal(t *testing.T) {
	r := start(t, Config{})
	m := marker(t)
	// the shell blocks reading a pipe that nobody writes to
	cmd := exec.Command("/bin/sh", "-c", "read line", m)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "exec", withArg(event.KindProcessExec, m))
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	ev := r.waitFor(t, "exit", withArg(event.KindProcessExit, m))
	if x := ev.Exit; x == nil || x.Signal != int(syscall.SIGKILL) || x.SignalName != "SIGKILL" || x.Code != 0 {
		t.Errorf("exit = %+v, want signal 9 (SIGKILL)", ev.Exit)
	}
}

// TestExecOnATerminal: a process whose controlling terminal is a new
// pseudo-terminal reports that terminal as its tty.
func TestExecOnATerminal(t *testing.T) {
	r := start(t, Config{})
	slave, name := testenv.OpenPTY(t)
	m := marker(t)
	cmd := exec.Command("/bin/true", m)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// a session of its own, with the terminal (its fd 0) as controlling tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	ev := r.waitFor(t, "exec", withArg(event.KindProcessExec, m))
	if ev.Process.TTY != name {
		t.Errorf("tty = %q, want %q", ev.Process.TTY, name)
	}
}
