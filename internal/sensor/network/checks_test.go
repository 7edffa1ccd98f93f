package network

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

func sport(p uint16) func(*event.Event) bool {
	return func(ev *event.Event) bool { return ev.Network.SPort == p }
}

func dport(p uint16) func(*event.Event) bool {
	return func(ev *event.Event) bool { return ev.Network.DPort == p }
}

// result matches events whose result is r.
func resultIs(r string) func(*event.Event) bool {
	return func(ev *event.Event) bool { return ev.Network.Result == r }
}

func both(a, b func(*event.Event) bool) func(*event.Event) bool {
	return func(ev *event.Event) bool { return a(ev) && b(ev) }
}

// checkNetwork compares what an event says with what the test did.
func checkNetwork(t *testing.T, ev *event.Event, want event.Network, call string, ret int64) {
	t.Helper()
	if got := *ev.Network; got != want {
		t.Errorf("%s network =\n\t%+v\nwant\n\t%+v", ev.Kind, got, want)
	}
	if ev.Syscall == nil || ev.Syscall.Name != call || ev.Syscall.Ret != ret {
		t.Errorf("%s syscall = %+v, want %s returning %d", ev.Kind, ev.Syscall, call, ret)
	}
	if ev.Process == nil || ev.Process.TID == 0 || ev.Process.Cgroup.ID == 0 {
		t.Errorf("%s process = %+v, want pid, tid and cgroup", ev.Kind, ev.Process)
	}
}

// checkClose compares a net_close with want, allowing any of oldStates.
func checkClose(t *testing.T, ev *event.Event, want event.Network, oldStates ...string) {
	t.Helper()
	got := *ev.Network
	t.Logf("net_close %s:%d → %s:%d left %s (%s)", got.SAddr, got.SPort, got.DAddr, got.DPort, got.OldState, got.Result)
	if !slices.Contains(oldStates, got.OldState) {
		t.Errorf("net_close old_state %q, want one of %q", got.OldState, oldStates)
	}
	got.OldState = ""
	if got != want {
		t.Errorf("net_close network =\n\t%+v\nwant\n\t%+v", got, want)
	}
	if ev.Syscall != nil {
		t.Errorf("net_close syscall = %+v, want none: the TCP stack closed it", ev.Syscall)
	}
}
