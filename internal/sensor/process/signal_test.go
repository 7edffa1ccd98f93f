package process

import (
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/wire"
)

// signalsFrom decodes the process_signal records sent by pid.
func signalsFrom(t *testing.T, rec *recorder, pid int) ([]*event.Event, [][]byte) {
	t.Helper()
	d := decoder()
	var evs []*event.Event
	var raws [][]byte
	for _, raw := range rec.raws {
		h, err := wire.ParseHeader(raw)
		if err != nil || h.Kind != wire.ProcessSignal || h.Pid != uint32(pid) {
			continue
		}
		ev, err := d.Signal(raw)
		if err != nil {
			t.Fatalf("signal record does not decode: %v", err)
		}
		evs = append(evs, ev)
		raws = append(raws, raw)
	}
	return evs, raws
}

// startCopy starts a copy of /bin/sleep named name, in a directory of the
// test's, as a child of the test.
func startCopy(t *testing.T, name string) *exec.Cmd {
	t.Helper()
	data, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // gone already when the test went well
		_ = cmd.Wait()
	})
	return cmd
}

// shell runs sh -c script and returns its pid.
func shell(t *testing.T, script string) int {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sh -c %q: %v: %s", script, err, out)
	}
	return cmd.Process.Pid
}

// TestSignalRecords: a SIGKILL sent by pid to a process named like a
// security agent is reported with the target's pid, comm and binary; a
// SIGTERM to the agent is flagged as such; a process's signal to itself,
// a SIGUSR1 and the agent's own kills stay in the kernel.
func TestSignalRecords(t *testing.T) {
	victim := startCopy(t, "auditd")
	other := startCopy(t, "h17h-usr1")
	vpid, opid := victim.Process.Pid, other.Process.Pid
	var killer, selfKiller, usr1, agentKiller int

	signal.Ignore(syscall.SIGTERM) // the agent (this test) survives its SIGTERM
	defer signal.Reset(syscall.SIGTERM)
	rec, _ := recordWith(t, ring.Scope{AgentPID: uint32(os.Getpid())}, Options{CgroupV1Subsys: -1}, func() {
		killer = shell(t, "kill -9 "+strconv.Itoa(vpid))
		_ = victim.Wait()
		selfKiller = shell(t, "kill -TERM $$ || true")
		usr1 = shell(t, "kill -USR1 "+strconv.Itoa(opid)+" || true")
		agentKiller = shell(t, "kill -TERM "+strconv.Itoa(os.Getpid()))
		_ = other.Process.Kill() // by the agent: not reported
		_ = other.Wait()
	})

	evs, raws := signalsFrom(t, rec, killer)
	if len(evs) != 1 {
		t.Fatalf("%d signal records from the killer, want 1", len(evs))
	}
	want, _ := filepath.EvalSymlinks(victim.Path)
	got := evs[0].Target
	if got.PID != uint32(vpid) || got.Comm != "auditd" || got.Binary != want || got.Signal != 9 ||
		got.SignalName != "SIGKILL" || got.Agent {
		t.Errorf("target %+v, want pid %d comm auditd binary %s SIGKILL, not the agent", got, vpid, want)
	}
	if sc := evs[0].Syscall; sc.Name != "kill" || len(sc.Args) != 2 || sc.Args[0] != int64(vpid) {
		t.Errorf("syscall %+v, want kill(%d, 9)", sc, vpid)
	}
	seed(t, "FuzzDecodeSignal", raws[0])

	evs, _ = signalsFrom(t, rec, agentKiller)
	if len(evs) != 1 || !evs[0].Target.Agent || evs[0].Target.PID != uint32(os.Getpid()) || evs[0].Target.SignalName != "SIGTERM" {
		t.Errorf("signal records to the agent: %d, first %+v; want one SIGTERM flagged agent", len(evs), first(evs))
	}
	for what, pid := range map[string]int{"a signal to itself": selfKiller, "SIGUSR1": usr1, "the agent's own kill": os.Getpid()} {
		if evs, _ := signalsFrom(t, rec, pid); len(evs) != 0 {
			t.Errorf("%s reported: %+v", what, evs[0].Target)
		}
	}
}

func first(evs []*event.Event) *event.Target {
	if len(evs) == 0 {
		return nil
	}
	return evs[0].Target
}
