package procfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func opts() Options {
	return Options{Proc: "/proc", Time: func(ns uint64) time.Time { return time.Unix(0, int64(ns)) }}
}

// TestSnapshotSeesAChild reads a real child process from the real /proc.
func TestSnapshotSeesAChild(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("/bin/sleep", "30")
	cmd.Dir = dir
	child := snapshotOf(t, cmd)
	wantBin, _ := filepath.EvalSymlinks("/bin/sleep")
	if child.Binary != wantBin || child.Comm != "sleep" {
		t.Errorf("binary %q comm %q, want %q sleep", child.Binary, child.Comm, wantBin)
	}
	if !slices.Equal(child.Args, []string{"/bin/sleep", "30"}) {
		t.Errorf("args = %q", child.Args)
	}
	if child.Cwd != dir || child.PPID != uint32(os.Getpid()) {
		t.Errorf("cwd %q ppid %d, want %q %d", child.Cwd, child.PPID, dir, os.Getpid())
	}
	if child.UID != uint32(os.Getuid()) || child.EGID != uint32(os.Getegid()) {
		t.Errorf("ids %d/%d, want %d/%d", child.UID, child.EGID, os.Getuid(), os.Getegid())
	}
	if child.Executable == nil || child.Executable.Inode == 0 {
		t.Errorf("executable = %+v", child.Executable)
	}
	if child.Namespaces.PID == 0 || child.Namespaces.Mnt == 0 {
		t.Errorf("namespaces = %+v", child.Namespaces)
	}
	if child.Partial {
		t.Error("a fully readable process is marked partial")
	}
	if child.VPID != child.PID || child.Caps == nil {
		t.Errorf("vpid %d caps %v, want the pid %d (the test's pid namespace) and the capability sets", child.VPID, child.Caps, child.PID)
	}
	if child.StartTime.IsZero() || child.StartTime.UnixNano() <= 0 {
		t.Errorf("start time unset: %v", child.StartTime)
	}
}

// TestSnapshotSeesTheTerminal: a process whose controlling terminal is a
// new pseudo-terminal is snapshotted with that terminal as its tty.
func TestSnapshotSeesTheTerminal(t *testing.T) {
	slave, name := testenv.OpenPTY(t)

	cmd := exec.Command("/bin/sleep", "30")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if p := snapshotOf(t, cmd); p.TTY != name {
		t.Errorf("tty = %q, want %q", p.TTY, name)
	}
}

// snapshotOf starts cmd (killed when the test ends), takes a snapshot of
// the real /proc and returns cmd's process in it.
func snapshotOf(t *testing.T, cmd *exec.Cmd) *event.Process {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	procs, err := Snapshot(opts())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if p.PID == uint32(cmd.Process.Pid) {
			return p
		}
	}
	t.Fatalf("pid %d not in a snapshot of %d processes", cmd.Process.Pid, len(procs))
	return nil
}

func TestReadStatWithAwkwardComm(t *testing.T) {
	dir := t.TempDir()
	// comm may hold spaces and parentheses: fields count from the last ')'
	line := "4242 (a) b (c) S 17 4242 4242 34816 4242 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200\n"
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := readStat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Comm != "a) b (c" || st.PPID != 17 || st.StartTicks != 987654 || st.TTYNr != 34816 {
		t.Errorf("stat = %+v", st)
	}
	if name := ttyName(st.TTYNr); name != "pts/0" {
		t.Errorf("tty 34816 = %q, want pts/0", name)
	}
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte("4242 (a) S 1 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readStat(dir); err == nil {
		t.Error("a short stat line was accepted")
	}
	self, err := ReadStat(uint32(os.Getpid()))
	if err != nil || self.PPID != uint32(os.Getppid()) || self.StartTicks == 0 {
		t.Errorf("own stat = %+v, %v", self, err)
	}
}

func TestTTYNames(t *testing.T) {
	for nr, want := range map[uint64]string{
		0:          "",
		136<<8 | 5: "pts/5",
		137<<8 | 1: "pts/257",
		4<<8 | 1:   "tty1",
		4<<8 | 64:  "ttyS0",
		5<<8 | 1:   "console",
	} {
		if got := ttyName(nr); got != want {
			t.Errorf("ttyName(%d) = %q, want %q", nr, got, want)
		}
	}
}
