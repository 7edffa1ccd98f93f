package privilege

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/sensor/ring"
)

// TestSetresuid: root sets its effective uid to nobody and back; both
// calls are reported with the ids before and after, and the capabilities
// that leaving root drops.
func TestSetresuid(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	pid, _ := helper(t, "setresuid", "65534")
	recs := only(t, s.of(pid), event.KindPrivilegeChange, 2)

	away, back := recs[0].ev, recs[1].ev
	wantSyscall(t, away, "setresuid", 0, -1, 65534, -1)
	wantSyscall(t, back, "setresuid", 0, -1, 0, -1)
	p := away.Privilege
	if p == nil || p.Before.EUID != 0 || p.After.EUID != 65534 || p.After.UID != 0 || p.After.SUID != 0 {
		t.Fatalf("privilege = %+v, want euid 0 → 65534, uid and suid 0", p)
	}
	if p.CapsBefore == nil || !slices.Contains(p.CapsBefore.Effective, "CAP_SYS_ADMIN") || len(p.CapsAfter.Effective) != 0 {
		t.Errorf("caps = %+v → %+v, want root's effective set emptied", p.CapsBefore, p.CapsAfter)
	}
	if q := back.Privilege; q.Before.EUID != 65534 || q.After.EUID != 0 {
		t.Errorf("back: %+v, want euid 65534 → 0", q)
	}
	if away.Process.PID != uint32(pid) || away.Process.TID == 0 {
		t.Errorf("process = %+v, want pid %d", away.Process, pid)
	}
	seed(t, recs[0].raw)
}

// TestSetuidDenied: a setuid(0) that fails is reported with its error and
// the id it asked for.
func TestSetuidDenied(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	pid, out := helper(t, "setuid-denied")
	if out != "EPERM" {
		t.Fatalf("helper says %q, want EPERM", out)
	}
	recs := only(t, s.of(pid), event.KindPrivilegeChange, 2)
	ev := recs[1].ev
	wantSyscall(t, ev, "setuid", -1, 0)
	if ev.Syscall.Error != "EPERM" {
		t.Errorf("error = %q, want EPERM", ev.Syscall.Error)
	}
	nobody := event.Creds{UID: 65534, EUID: 65534, SUID: 65534, FSUID: 65534}
	if p := ev.Privilege; p.Before != nobody || p.After != nobody {
		t.Errorf("privilege = %+v, want nobody before and after", p)
	}
	if ev.Privilege.CapsBefore != nil {
		t.Errorf("caps reported for a call that changed none: %+v", ev.Privilege.CapsBefore)
	}
	seed(t, recs[1].raw)
}

// TestCapset: dropping a capability is reported with both sets.
func TestCapset(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	pid, _ := helper(t, "capset-drop")
	ev := only(t, s.of(pid), event.KindPrivilegeChange, 1)[0]
	wantSyscall(t, ev.ev, "capset", 0)
	p := ev.ev.Privilege
	if p.CapsBefore == nil || p.CapsAfter == nil {
		t.Fatalf("capset without capabilities: %+v", p)
	}
	if !slices.Contains(p.CapsBefore.Effective, "CAP_NET_RAW") || slices.Contains(p.CapsAfter.Effective, "CAP_NET_RAW") {
		t.Errorf("effective %v → %v, want CAP_NET_RAW dropped", p.CapsBefore.Effective, p.CapsAfter.Effective)
	}
	if !slices.Contains(p.CapsAfter.Permitted, "CAP_NET_RAW") {
		t.Errorf("permitted after = %v, want CAP_NET_RAW kept", p.CapsAfter.Permitted)
	}
	if len(ev.ev.Syscall.Args) != 0 {
		t.Errorf("capset args = %v, want none (both are pointers)", ev.ev.Syscall.Args)
	}
	seed(t, ev.raw)
}
