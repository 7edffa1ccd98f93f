package privilege

import (
	"fmt"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
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

// TestIDCalls: root's every other id call, each away to nobody's id and
// back, is reported with its arguments, its return and the ids before and
// after as the kernel's rules for that call set them (setreuid and
// setregid also move the saved id; setfsuid and setfsgid return the
// previous id).
func TestIDCalls(t *testing.T) {
	const n = 65534
	root := event.Creds{}
	for _, tc := range []struct {
		action     string
		awayArgs   []int64
		backArgs   []int64
		rets       [2]int64
		away, back event.Creds // the ids after each call
		capsAway   string      // an effective capability the call away drops
		capsKept   string      // one it keeps
	}{
		{action: "setgid", awayArgs: []int64{n}, backArgs: []int64{0},
			away: event.Creds{GID: n, EGID: n, SGID: n, FSGID: n}, back: root},
		{action: "setreuid", awayArgs: []int64{-1, n}, backArgs: []int64{-1, 0},
			away: event.Creds{EUID: n, SUID: n, FSUID: n}, back: event.Creds{SUID: n},
			capsAway: "CAP_SYS_ADMIN"},
		{action: "setregid", awayArgs: []int64{-1, n}, backArgs: []int64{-1, 0},
			away: event.Creds{EGID: n, SGID: n, FSGID: n}, back: event.Creds{SGID: n}},
		{action: "setresgid", awayArgs: []int64{-1, n, -1}, backArgs: []int64{-1, 0, -1},
			away: event.Creds{EGID: n, FSGID: n}, back: root},
		{action: "setfsuid", awayArgs: []int64{n}, backArgs: []int64{0}, rets: [2]int64{0, n},
			away: event.Creds{FSUID: n}, back: root,
			capsAway: "CAP_DAC_OVERRIDE", capsKept: "CAP_SYS_ADMIN"},
		{action: "setfsgid", awayArgs: []int64{n}, backArgs: []int64{0}, rets: [2]int64{0, n},
			away: event.Creds{FSGID: n}, back: root},
	} {
		t.Run(tc.action, func(t *testing.T) {
			s := startSession(t, ring.Scope{}, Options{})
			pid, out := helper(t, tc.action)
			if want := fmt.Sprintf("%d %d", tc.rets[0], tc.rets[1]); out != want {
				t.Fatalf("helper returned %q, want %q", out, want)
			}
			recs := only(t, s.of(pid), event.KindPrivilegeChange, 2)
			away, back := recs[0].ev, recs[1].ev
			wantSyscall(t, away, tc.action, tc.rets[0], tc.awayArgs...)
			wantSyscall(t, back, tc.action, tc.rets[1], tc.backArgs...)
			if p := away.Privilege; p == nil || p.Before != root || p.After != tc.away {
				t.Fatalf("away: %+v, want %+v → %+v", p, root, tc.away)
			}
			if q := back.Privilege; q.Before != tc.away || q.After != tc.back {
				t.Errorf("back: %+v → %+v, want %+v → %+v", q.Before, q.After, tc.away, tc.back)
			}
			p := away.Privilege
			if tc.capsAway == "" {
				if p.CapsBefore != nil {
					t.Errorf("capabilities reported for a call that changed none: %+v → %+v", p.CapsBefore, p.CapsAfter)
				}
				return
			}
			if p.CapsBefore == nil || !slices.Contains(p.CapsBefore.Effective, tc.capsAway) ||
				slices.Contains(p.CapsAfter.Effective, tc.capsAway) {
				t.Errorf("caps %+v → %+v, want %s dropped from the effective set", p.CapsBefore, p.CapsAfter, tc.capsAway)
			}
			if tc.capsKept != "" && !slices.Contains(p.CapsAfter.Effective, tc.capsKept) {
				t.Errorf("effective after %v, want %s kept", p.CapsAfter.Effective, tc.capsKept)
			}
			if q := back.Privilege; q.CapsAfter == nil || !slices.Contains(q.CapsAfter.Effective, tc.capsAway) {
				t.Errorf("back: caps after %+v, want %s restored", q.CapsAfter, tc.capsAway)
			}
			seed(t, recs[0].raw)
		})
	}
}
