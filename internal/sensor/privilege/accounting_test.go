package privilege

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/privilege/privtest"
	"github.com/vigil-sec/vigil/internal/sensor/sensortest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// helperIn runs a privtest action in cgroup cg and returns its pid.
func helperIn(t *testing.T, cg testenv.Cgroup, action string, args ...string) int {
	t.Helper()
	cmd, err := privtest.Command(action, args...)
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper %s: %v", action, err)
	}
	return cmd.Process.Pid
}

// TestEveryKindDelivered: every-kind makes n calls of each kind in a test
// cgroup; n records of each kind arrive, nothing is lost.
func TestEveryKindDelivered(t *testing.T) {
	const n = 3
	cg := testenv.NewCgroup(t)
	s := startSession(t, sensortest.CgroupScope(t, cg), Options{MissingSyscalls: true})
	pid := helperIn(t, cg, "every-kind", strconv.Itoa(n))
	recs := s.of(pid)
	for _, kind := range Kinds() {
		got := only(t, recs, kind, n)
		seed(t, got[0].raw)
	}
	losses, err := s.ring.Losses()
	if err != nil {
		t.Fatal(err)
	}
	if len(losses) != 0 {
		t.Errorf("losses %+v, want none", losses)
	}
}

// TestInFlightFullIsCounted: with the table of calls in progress full,
// no call can be followed to its exit; each is counted as a map_full loss
// of its kind, and none is reported.
func TestInFlightFullIsCounted(t *testing.T) {
	const n = 3
	cg := testenv.NewCgroup(t)
	s := startSession(t, sensortest.CgroupScope(t, cg), Options{InFlight: 1, MissingSyscalls: true})
	// the one slot, taken by a thread id no thread has
	if err := s.sensor.core.Inflight.Put(uint64(1<<63), privilegeCallEntry{}); err != nil {
		t.Fatal(err)
	}
	pid := helperIn(t, cg, "every-kind", strconv.Itoa(n))
	if recs := s.of(pid); len(recs) != 0 {
		t.Errorf("%d records with the table full: %s", len(recs), describe(recs))
	}
	losses, err := s.ring.Losses()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range Kinds() {
		if got := ring.Lost(losses, ring.MapFull, kind); got != n {
			t.Errorf("%s: %d map_full losses, want %d", kind, got, n)
		}
	}
}

// TestAgentIsExempt: the process the sensor is told is the agent (here the
// test itself, which also loads the sensor's programs: bpf() calls of its
// own) is never reported; a child is.
func TestAgentIsExempt(t *testing.T) {
	s := startSession(t, ring.Scope{AgentPID: uint32(os.Getpid())}, Options{})
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	child, _ := helper(t, "unshare", "0x04000000")
	only(t, s.of(child), event.KindNamespaceChange, 1)
	if own := s.of(os.Getpid()); len(own) != 0 {
		t.Errorf("the agent's own calls were reported: %s", describe(own))
	}
}
