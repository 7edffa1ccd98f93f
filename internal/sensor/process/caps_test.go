package process

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/capability"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/wire"
)

// execOfComm finds the exec record of a process whose argv holds marker
// and whose task name is comm: a process that execs twice with the same
// arguments has two.
func execOfComm(t *testing.T, rec *recorder, marker, comm string) (*event.Event, []byte) {
	t.Helper()
	d := decoder()
	for _, raw := range rec.raws {
		if h, err := wire.ParseHeader(raw); err != nil || h.Kind != wire.ProcessExec {
			continue
		}
		ev, err := d.Exec(raw)
		if err != nil {
			t.Fatalf("exec record does not decode: %v", err)
		}
		if ev.Process.Comm == comm && slices.Contains(ev.Process.Args, marker) {
			return ev, raw
		}
	}
	t.Fatalf("no exec of %s with %q among %d records", comm, marker, len(rec.raws))
	return nil, nil
}

// TestExecCapsAndVPID: a process run as the first of a pid namespace the
// test creates, with a bounding set the test reduced, is reported with
// vpid 1 (its host pid beside it) and exactly the capabilities it was
// left; a root process on the host with its pid as vpid and the full
// set the test itself may hand on.
func TestExecCapsAndVPID(t *testing.T) {
	testenv.RequirePrivileged(t)
	own, err := testenv.OwnCaps()
	if err != nil {
		t.Fatal(err)
	}
	nonce := time.Now().UnixNano()
	inNS := fmt.Sprintf("vh17k-pidns-%d", nonce)
	onHost := fmt.Sprintf("vh17k-host-%d", nonce)
	// CAP_CHOWN, CAP_NET_RAW, CAP_SYS_CHROOT: what the test has of them
	keep := []int{0, 13, 18}
	var kept uint64
	for _, c := range keep {
		kept |= uint64(1) << c & own["CapBnd"]
	}
	var nsPID, hostPID int
	rec, _ := record(t, func() {
		cmd := exec.Command("/bin/true", inNS)
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
		if err := testenv.StartBounded(cmd, keep...); err != nil {
			t.Fatalf("start in a new pid namespace: %v", err)
		}
		nsPID = cmd.Process.Pid
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		host := exec.Command("/bin/true", onHost)
		if err := host.Run(); err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		hostPID = host.Process.Pid
	})
	ownNS, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		t.Fatal(err)
	}

	ev, raw := execOfComm(t, rec, inNS, "true")
	p := ev.Process
	if p.PID != uint32(nsPID) || p.VPID != 1 {
		t.Errorf("pid %d vpid %d, want host pid %d and vpid 1", p.PID, p.VPID, nsPID)
	}
	if fmt.Sprintf("pid:[%d]", p.Namespaces.PID) == ownNS {
		t.Errorf("pid namespace %d is the test's own (%s), want the new one", p.Namespaces.PID, ownNS)
	}
	// root's exec: permitted and effective are the bounding set, with the
	// inheritable set added
	checkCaps(t, "in the new namespace", p.Caps, kept|own["CapInh"], own["CapInh"], kept)
	seed(t, "FuzzDecodeExec", raw)

	ev, raw = execOfComm(t, rec, onHost, "true")
	p = ev.Process
	if p.PID != uint32(hostPID) || p.VPID != p.PID {
		t.Errorf("host process: pid %d vpid %d, want both %d", p.PID, p.VPID, hostPID)
	}
	checkCaps(t, "on the host", p.Caps, own["CapBnd"]|own["CapInh"], own["CapInh"], own["CapBnd"])
	if p.Caps != nil && !slices.Contains(p.Caps.Effective, "CAP_SYS_ADMIN") {
		t.Errorf("root's exec on the host lacks CAP_SYS_ADMIN: %v", p.Caps.Effective)
	}
	seed(t, "FuzzDecodeExec", raw)
}

func checkCaps(t *testing.T, what string, got *event.Caps, effective, inheritable, bounding uint64) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no capability sets", what)
	}
	for _, c := range []struct {
		set       string
		got, want []string
	}{
		{"effective", got.Effective, capability.List(effective)},
		{"permitted", got.Permitted, capability.List(effective)},
		{"inheritable", got.Inheritable, capability.List(inheritable)},
		{"bounding", got.Bounding, capability.List(bounding)},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: %s set %v, want %v", what, c.set, c.got, c.want)
		}
	}
}
