package agent

import (
	"os/exec"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestParentOlderThanAgent: a shell started before the agent is known from
// the start-up snapshot, so its child's exec names it as the parent, with
// its binary and exec id, and lists the test binary above it.
func TestParentOlderThanAgent(t *testing.T) {
	m := marker(t)
	sh := exec.Command("/bin/sh", "-c", `read go; /bin/true "$0"`, m)
	stdin, err := sh.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	defer sh.Wait()
	defer stdin.Close()

	r := start(t, Config{}) // the shell is already running
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	ev := r.waitFor(t, "child exec", withArg(event.KindProcessExec, m))
	if ev.Process.PPID != uint32(sh.Process.Pid) {
		t.Fatalf("ppid = %d, want the shell %d", ev.Process.PPID, sh.Process.Pid)
	}
	parent := ev.Parent
	if parent == nil {
		t.Fatal("no parent: the snapshot did not record the shell")
	}
	if want := realPath(t, "/bin/sh"); parent.Binary != want || parent.PID != uint32(sh.Process.Pid) {
		t.Errorf("parent = %d %q, want %d %q", parent.PID, parent.Binary, sh.Process.Pid, want)
	}
	if parent.Partial || parent.ExecID == "" || ev.Process.ParentExecID != parent.ExecID {
		t.Errorf("parent partial=%v exec_id=%q, child's parent_exec_id=%q: want a complete, linked parent",
			parent.Partial, parent.ExecID, ev.Process.ParentExecID)
	}
	if len(ev.Ancestors) == 0 || ev.Ancestors[0].Binary != realPath(t, mustExecutable(t)) {
		t.Errorf("ancestors = %+v, want the test binary first", ev.Ancestors)
	}
}
