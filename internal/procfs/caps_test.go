package procfs

import (
	"os/exec"
	"slices"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/capability"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestSnapshotReadsCapsAndVPID: a process the test starts as the first of
// a new pid namespace, with a reduced bounding set, is read from /proc
// with vpid 1 and the capability sets it has.
func TestSnapshotReadsCapsAndVPID(t *testing.T) {
	testenv.RequirePrivileged(t)
	own, err := testenv.OwnCaps()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	keep := []int{5, 7} // CAP_KILL, CAP_SETUID
	if err := testenv.StartBounded(cmd, keep...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var kept uint64
	for _, c := range keep {
		kept |= uint64(1) << c & own["CapBnd"]
	}

	p, ok := Read(opts(), cmd.Process.Pid)
	if !ok {
		t.Fatalf("pid %d not read", cmd.Process.Pid)
	}
	if p.VPID != 1 {
		t.Errorf("vpid = %d, want 1: the first process of its pid namespace", p.VPID)
	}
	if p.Caps == nil {
		t.Fatal("no capability sets read")
	}
	for _, c := range []struct {
		set       string
		got, want []string
	}{
		{"effective", p.Caps.Effective, capability.List(kept | own["CapInh"])},
		{"permitted", p.Caps.Permitted, capability.List(kept | own["CapInh"])},
		{"inheritable", p.Caps.Inheritable, capability.List(own["CapInh"])},
		{"bounding", p.Caps.Bounding, capability.List(kept)},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s set %v, want %v", c.set, c.got, c.want)
		}
	}
}
