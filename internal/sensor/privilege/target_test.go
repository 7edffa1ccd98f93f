package privilege

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/privilege/privtest"
)

// TestPtraceAttach: one child attaches to another (a real sleep), writes
// a word of its memory back, and detaches. The attach and the write are
// reported with the target's host pid and binary; the reads, the wait and
// the detach are not.
func TestPtraceAttach(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sleep.Process.Kill()
		sleep.Wait()
	}()
	target := sleep.Process.Pid
	pid, out := helper(t, "ptrace-attach", strconv.Itoa(target))
	addr, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		t.Fatalf("helper printed %q, want an address", out)
	}
	recs := only(t, s.of(pid), event.KindPtrace, 2)

	attach, poke := recs[0].ev, recs[1].ev
	wantSyscall(t, attach, "ptrace", 0, 16, int64(target), 0, 0)
	wantSyscall(t, poke, "ptrace", 0)
	bin, _ := filepath.EvalSymlinks(sleep.Path)
	for _, ev := range []*event.Event{attach, poke} {
		if ev.Target == nil || ev.Target.PID != uint32(target) || ev.Target.Binary != bin {
			t.Errorf("target = %+v, want pid %d binary %s", ev.Target, target, bin)
		}
	}
	if attach.Target.Request != "PTRACE_ATTACH" || poke.Target.Request != "PTRACE_POKEDATA" {
		t.Errorf("requests %q, %q; want PTRACE_ATTACH, PTRACE_POKEDATA", attach.Target.Request, poke.Target.Request)
	}
	if a := poke.Syscall.Args; len(a) != 4 || a[2] != addr {
		t.Errorf("poke args = %v, want the address %#x third", a, addr)
	}
	seed(t, recs[0].raw)
}

// TestPtraceNoSuchProcess: an attach to a pid nobody has fails with
// ESRCH and names the pid asked for.
func TestPtraceNoSuchProcess(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	pid, _ := helper(t, "every-kind", "1")
	ev := only(t, s.of(pid), event.KindPtrace, 1)[0]
	wantSyscall(t, ev.ev, "ptrace", -3, 16, 1<<30, 0, 0)
	if ev.ev.Target.PID != 1<<30 || ev.ev.Target.Binary != "" {
		t.Errorf("target = %+v, want the pid asked for and no binary", ev.ev.Target)
	}
	seed(t, ev.raw)
}

// TestProcessVMWritev: one child writes into another's memory; the
// target then finds the text there, and the write is reported with the
// target and the bytes written.
func TestProcessVMWritev(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	target, err := privtest.Command("vm-target")
	if err != nil {
		t.Fatal(err)
	}
	stdin, _ := target.StdinPipe()
	stdout, _ := target.StdoutPipe()
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("vm-target printed no address: %v", target.Wait())
	}
	addr := lines.Text()
	text := fmt.Sprintf("vigil-%d", os.Getpid())
	pid, out := helper(t, "vm-write", strconv.Itoa(target.Process.Pid), addr, text)
	fmt.Fprintln(stdin, "go")
	if !lines.Scan() || lines.Text() != text {
		t.Fatalf("the target's buffer holds %q, want %q", lines.Text(), text)
	}
	if err := target.Wait(); err != nil {
		t.Fatal(err)
	}

	ev := only(t, s.of(pid), event.KindProcessVMWrite, 1)[0]
	written, _ := strconv.Atoi(out)
	wantSyscall(t, ev.ev, "process_vm_writev", int64(written), int64(target.Process.Pid), 1, 1, 0)
	self, _ := os.Executable()
	self, _ = filepath.EvalSymlinks(self)
	if tg := ev.ev.Target; tg.PID != uint32(target.Process.Pid) || tg.Binary != self || tg.Request != "" {
		t.Errorf("target = %+v, want pid %d binary %s", tg, target.Process.Pid, self)
	}
	if written != len(text)+1 {
		t.Errorf("helper wrote %d bytes, want %d", written, len(text)+1)
	}
	seed(t, ev.raw)
}
