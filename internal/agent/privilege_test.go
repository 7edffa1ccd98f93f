package agent

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/privilege"
	"github.com/vigil-sec/vigil/internal/sensor/privilege/privtest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func init() {
	// Not a registry: when re-executed as a privtest helper, the test
	// binary performs the action and exits before any test runs.
	privtest.RunIfHelper()
}

// privHelper starts a privtest helper; the agent under test is this
// process, which it never reports, so the actions run in a child.
func privHelper(t *testing.T, cg *testenv.Cgroup, action string, args ...string) (int, string) {
	t.Helper()
	cmd, err := privtest.Command(action, args...)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if cg != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper %s: %v", action, err)
	}
	return cmd.Process.Pid, string(bytes.TrimSpace(out.Bytes()))
}

func ofPid(kind event.Kind, pid int) func(*event.Event) bool {
	return func(ev *event.Event) bool {
		return ev.Kind == kind && ev.Process != nil && ev.Process.PID == uint32(pid)
	}
}

// TestPrivilegeChangeHasProcessContext: a child of the test changes its
// effective uid; the event carries the same process, parent and container
// context as an exec event would.
func TestPrivilegeChangeHasProcessContext(t *testing.T) {
	r := start(t, Config{})
	pid, _ := privHelper(t, nil, "setresuid", "65534")
	ev := r.waitFor(t, "privilege_change", ofPid(event.KindPrivilegeChange, pid))

	self, _ := os.Executable()
	self = realPath(t, self)
	p := ev.Process
	if p.Partial || p.Binary != self || p.ExecID == "" || p.PPID != uint32(os.Getpid()) {
		t.Errorf("process = pid %d binary %q exec_id %q ppid %d partial %v; want the helper %s, a child of the test",
			p.PID, p.Binary, p.ExecID, p.PPID, p.Partial, self)
	}
	if ev.Parent == nil || ev.Parent.Binary != self || p.ParentExecID != ev.Parent.ExecID {
		t.Errorf("parent = %+v, want the test binary, linked by exec id", ev.Parent)
	}
	if p.Container == nil || p.Container.ID != event.HostContainerID {
		t.Errorf("container = %+v, want host", p.Container)
	}
	if ev.Node == "" || ev.Syscall == nil || ev.Syscall.Name != "setresuid" {
		t.Errorf("node %q syscall %+v, want a node and setresuid", ev.Node, ev.Syscall)
	}
	if pr := ev.Privilege; pr == nil || pr.Before.EUID != 0 || pr.After.EUID != 65534 {
		t.Errorf("privilege = %+v, want euid 0 → 65534", pr)
	}
}

// TestPrivilegePtraceNamesTheTarget: the target of a real attach is
// named by host pid and binary.
func TestPrivilegePtraceNamesTheTarget(t *testing.T) {
	r := start(t, Config{})
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sleep.Process.Kill()
		sleep.Wait()
	}()
	pid, _ := privHelper(t, nil, "ptrace-attach", strconv.Itoa(sleep.Process.Pid))
	ev := r.waitFor(t, "ptrace", ofPid(event.KindPtrace, pid))
	bin := realPath(t, sleep.Path)
	if tg := ev.Target; tg == nil || tg.PID != uint32(sleep.Process.Pid) || tg.Binary != bin || tg.Request != "PTRACE_ATTACH" {
		t.Errorf("target = %+v, want PTRACE_ATTACH of %d (%s)", ev.Target, sleep.Process.Pid, bin)
	}
}

// TestPrivilegeBPFLoadByAChild: a child's program load is reported; the
// agent's own loads (every sensor's programs) are not.
func TestPrivilegeBPFLoadByAChild(t *testing.T) {
	r := start(t, Config{})
	cg := testenv.NewCgroup(t)
	name := fmt.Sprintf("vigil_a%d", time.Now().UnixNano()%1e6)
	pid, _ := privHelper(t, nil, "bpf-load", name, cg.Path)
	ev := r.waitFor(t, "bpf_load", func(ev *event.Event) bool {
		return ofPid(event.KindBPFLoad, pid)(ev) && ev.BPF.ProgName == name
	})
	if b := ev.BPF; b.Command != "BPF_PROG_LOAD" || b.ProgType != "socket_filter" || ev.Syscall.Ret < 0 {
		t.Errorf("bpf = %+v (ret %d), want a successful socket_filter load", b, ev.Syscall.Ret)
	}
	if own := r.sink.find(ofPid(event.KindBPFLoad, os.Getpid())); len(own) > 0 {
		t.Errorf("the agent's own bpf() calls were reported: %+v", own[0].BPF)
	}
}

// TestPrivilegeEveryKindAccountedFor: n calls of every kind in a cgroup
// of their own; for each kind, records delivered plus records the kernel
// counted as dropped (ring full, or no room to follow the call) equals
// n. Once with a roomy ring read all along, once with a one-page ring that
// nobody reads until the calls are done, where drops happen by
// construction and must be counted.
func TestPrivilegeEveryKindAccountedFor(t *testing.T) {
	const n = 400
	for _, tc := range []struct {
		name     string
		ringSize int
		// readLate: the ring is read only after the calls are done
		readLate bool
	}{
		{"roomy", 8 << 20, false},
		{"tiny-and-unread", os.Getpagesize(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.RequirePrivileged(t)
			cg := testenv.NewCgroup(t)
			rc := ring.DefaultConfig()
			rc.Size = tc.ringSize
			// the dispatcher too: on a kernel without modules or kexec,
			// their calls have no tracepoints
			r := load(t, Config{Ring: rc, Cgroup: cg.Rel(),
				Privilege: privilege.Options{MissingSyscalls: true}})
			if s := r.Sensors(); !sensorRunning(s, "privilege") {
				t.Fatalf("privilege sensor not running: %+v", s)
			}
			if !tc.readLate {
				r.run()
			}
			privHelper(t, &cg, "every-kind", strconv.Itoa(n))
			if tc.readLate {
				r.run()
			}
			r.stop(t) // drains the ring

			sum, err := r.Summary()
			if err != nil {
				t.Fatal(err)
			}
			var dropped uint64
			for _, kind := range privilege.Kinds() {
				got := sum.Records[kind]
				lost := ring.Lost(sum.Losses, ring.RingbufFull, kind) + ring.Lost(sum.Losses, ring.MapFull, kind)
				dropped += lost
				if got+lost != n {
					t.Errorf("%s: %d delivered + %d dropped = %d, want %d", kind, got, lost, got+lost, n)
				}
			}
			if sum.Malformed != 0 {
				t.Errorf("%d malformed records", sum.Malformed)
			}
			if tc.readLate && dropped == 0 {
				t.Errorf("an unread one-page ring dropped nothing: the drop path went untested")
			}
			t.Logf("delivered %v, losses %+v", sum.Records, sum.Losses)
		})
	}
}

func sensorRunning(statuses []SensorStatus, name string) bool {
	for _, s := range statuses {
		if s.Name == name {
			return s.Running
		}
	}
	return false
}
