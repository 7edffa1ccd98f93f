package modguard

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestModeFollowsTheKernel: the guard uses the calls' own tracepoints
// where the kernel has them, else the dispatcher; this kernel, built
// without modules, has none.
func TestModeFollowsTheKernel(t *testing.T) {
	e := setup(t)
	want := ModeDispatcher
	if haveTracepoints() {
		want = ModeTracepoint
	}
	if e.guard.Mode() != want {
		t.Errorf("Mode() = %q, want %q", e.guard.Mode(), want)
	}
}

// TestInitModuleKilled: a process that calls init_module under a blocking
// policy dies by SIGKILL; the record has the call's outcome (ENOSYS
// here, the call ran to its end), the image's length and the parameters.
func TestInitModuleKilled(t *testing.T) {
	e := setup(t)
	e.block(enforce)

	res := e.run("init", false)
	wantKilled(t, res)
	r := e.one(res.PID)
	if r.Syscall != "init_module" || r.Action != pinned.ActionKilled || r.Policy != policy ||
		r.Ret != -38 || r.Len != uint64(len(garbage)) || r.Params != params || r.Compat {
		t.Errorf("record %+v; want init_module killed by policy %d, ret -ENOSYS, len %d, params %q",
			r.Record, policy, len(garbage), params)
	}
	ev, err := (Decoder{}).Decode(r.raw)
	if err != nil {
		t.Fatal(err)
	}
	hook := "sys_enter"
	if e.guard.Mode() == ModeTracepoint {
		hook = "sys_enter_init_module"
	}
	want := event.Enforcement{PolicyID: policy, Action: event.ActionKilled, Mechanism: "kernel", Hook: hook}
	if ev.Kind != event.KindModuleLoad || *ev.Enforcement != want || ev.Syscall.Error != "ENOSYS" ||
		!slices.Equal(ev.Syscall.Args, []int64{int64(len(garbage))}) || ev.Process.PID != uint32(res.PID) {
		t.Errorf("event %+v syscall %+v enforcement %+v", ev, ev.Syscall, ev.Enforcement)
	}
}

// TestFinitModuleKilled: finit_module of a file kills the caller, and the
// record names the file by its kernel path.
func TestFinitModuleKilled(t *testing.T) {
	e := setup(t)
	e.block(enforce)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rootkit.ko")
	if err := os.WriteFile(path, []byte(garbage), 0o644); err != nil {
		t.Fatal(err)
	}

	res := e.run("finit:"+path, false)
	wantKilled(t, res)
	r := e.one(res.PID)
	if r.Syscall != "finit_module" || r.Action != pinned.ActionKilled || r.Ret != -38 ||
		r.Path != path || r.NoFile || r.FD < 0 {
		t.Errorf("record %+v; want finit_module of %s killed, ret -ENOSYS", r.Record, path)
	}
	ev, err := (Decoder{}).Decode(r.raw)
	if err != nil || ev.Module.Path != path {
		t.Errorf("event module %+v (%v), want path %s", ev.Module, err, path)
	}
}

// TestMonitorReportsWouldKill: a monitoring policy lets the call fail
// on its own and reports it with the outcome.
func TestMonitorReportsWouldKill(t *testing.T) {
	e := setup(t)
	e.block(monitor)

	res := e.run("init", false)
	wantFinished(t, res, "ENOSYS")
	r := e.one(res.PID)
	if r.Action != pinned.ActionWouldKill || r.Ret != -38 || r.Policy != policy {
		t.Errorf("record %+v; want would_kill, ret -ENOSYS", r.Record)
	}
}

// TestOutsideScopeNotKilled: the same call from outside the policy's
// cgroup is neither killed nor reported; nor is any call when no policy
// blocks.
func TestOutsideScopeNotKilled(t *testing.T) {
	e := setup(t)
	e.block(enforce)
	res := e.run("init", true)
	wantFinished(t, res, "ENOSYS")
	e.none(res.PID)

	e.block(pinned.Verdict{})
	res = e.run("init", false)
	wantFinished(t, res, "ENOSYS")
	e.none(res.PID)
}

// TestExemptNotKilled: an exempt process is left alone.
func TestExemptNotKilled(t *testing.T) {
	e := setup(t)
	e.block(enforce)
	res := enforcetest.RunGated(t, e.command("wait:init", false), func(pid int) {
		if err := e.State.SetExempt([]uint32{uint32(pid)}); err != nil {
			t.Fatal(err)
		}
	})
	wantFinished(t, res, "ENOSYS")
	e.none(res.PID)
}

// TestCompatCallKilled: a 64-bit process that makes the 32-bit
// init_module call ("int $0x80", which no syscall tracepoint shows) is
// killed too, by the dispatcher. Where the kernel has no 32-bit entry
// (kernel.CompatSyscalls) there is no such call to stop: the machine
// lacks the feature, so the test skips, under CI too.
func TestCompatCallKilled(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("ia32 calls exist on x86-64 only")
	}
	testenv.RequirePrivileged(t)
	if err := kernel.CompatSyscalls(t.Context()); errors.Is(err, kernel.ErrNoCompatSyscalls) {
		t.Skipf("this kernel does not deliver 32-bit system calls, so they are no way around the guard here: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	e := setup(t)
	if e.guard.Mode() != ModeDispatcher {
		e.guard.Close()
		g, err := Load(Options{PinDir: e.Dir, Ring: e.ring, Dispatcher: true})
		if err != nil {
			t.Fatal(err)
		}
		e.guard = g
	}
	e.block(enforce)
	res := e.run("compat-init", false)
	wantKilled(t, res)
	r := e.one(res.PID)
	if !r.Compat || r.Syscall != "init_module" || r.Ret != -38 || r.Len != uint64(len(garbage)) || r.Params != params {
		t.Errorf("record %+v; want a compat init_module with its length and parameters, ret -ENOSYS", r.Record)
	}
}

// TestPinnedLinkOutlivesClose: with the guard closed (the agent gone) the
// pinned links still kill; pinned.Remove lifts the block.
func TestPinnedLinkOutlivesClose(t *testing.T) {
	e := setup(t)
	e.block(enforce)
	progs := enforcetest.ProgramIDs(t, e.guard.Programs())
	if err := e.guard.Close(); err != nil {
		t.Fatal(err)
	}
	e.guard = nil

	res := e.run("init", false)
	wantKilled(t, res)
	e.one(res.PID)

	if err := pinned.Remove(e.Dir); err != nil {
		t.Fatal(err)
	}
	enforcetest.WaitFreed(t, progs)
	res = e.run("init", false)
	wantFinished(t, res, "ENOSYS")
	e.none(res.PID)
}

// TestTracepointProgramsVerify: the tracepoint mode cannot run here (no
// module tracepoints), but its programs must pass this kernel's verifier.
func TestTracepointProgramsVerify(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := testenv.PinDir(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	spec, err := loadModguard()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{modguardProgTpEnterInitModule, modguardProgTpEnterFinitModule, modguardProgTpExitModule} {
		t.Run(name, func(t *testing.T) {
			s := spec.Copy()
			for n := range s.Programs {
				if n != name {
					delete(s.Programs, n)
				}
			}
			coll, err := ebpf.NewCollectionWithOptions(s, ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: dir}})
			if err != nil {
				t.Fatalf("%+v", err)
			}
			coll.Close()
		})
	}
}
