package syscalls

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/modguard/compat"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// childEnv makes the test binary a workload child instead of running tests.
const childEnv = "VH16S_SYSCALLS_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	testenv.Main(m)
}

// The calls the children make on purpose, x86-64 numbers (asm/unistd_64.h).
const (
	nrGetppid  = 110
	nrSysinfo  = 99  // the storm's one rare call: the Go runtime never makes it
	nrReboot   = 169 // never made by anyone here
	nrGetpid   = 39
	ia32Getpid = 20 // asm/unistd_32.h
	outOfRange = 5000
)

// child runs in the recorded cgroup: "storm N" makes N getppid calls then
// one sysinfo; "odd" makes an x32 call, an out-of-range call and, when
// the kernel has them, an ia32 call.
func child(mode string) int {
	switch {
	case len(mode) > 6 && mode[:6] == "storm ":
		n, err := strconv.Atoi(mode[6:])
		if err != nil {
			return 2
		}
		for range n {
			unix.RawSyscall(nrGetppid, 0, 0, 0)
		}
		var info unix.Sysinfo_t
		if unix.Sysinfo(&info) != nil {
			return 3
		}
	case mode == "odd":
		unix.RawSyscall(nrGetpid|0x40000000, 0, 0, 0) // x32: ENOSYS without CONFIG_X86_X32_ABI
		unix.RawSyscall(outOfRange, 0, 0, 0)
		if os.Getenv("VH16S_IA32") == "1" {
			if r, _ := compat.Syscall(ia32Getpid, 0, 0, 0); int(r) != os.Getpid() {
				return 4
			}
		}
	default:
		return 2
	}
	return 0
}

// runIn runs the test binary as a child in cg (born there: clone3 with
// CLONE_INTO_CGROUP) and waits for it.
func runIn(t *testing.T, cg testenv.Cgroup, mode string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+mode), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child %q: %v\n%s", mode, err, out)
	}
}

func openRecorder(t *testing.T, cg testenv.Cgroup) (*Recorder, uint32) {
	t.Helper()
	testenv.RequirePrivileged(t)
	rec, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rec.Close(); err != nil {
			t.Error(err)
		}
	})
	id, err := kernel.CgroupID(cg.Path)
	if err != nil {
		t.Fatal(err)
	}
	level, err := kernel.CgroupLevel(cg.Root, cg.Path)
	if err != nil {
		t.Fatal(err)
	}
	slot, err := rec.Record(id, level)
	if err != nil {
		t.Fatal(err)
	}
	return rec, slot
}

// TestStormLosesNothing: two children make millions of getppid calls, then
// one sysinfo each; the bitmap has sysinfo, and the counters saw every
// getppid. A call nobody made is not in it.
func TestStormLosesNothing(t *testing.T) {
	cg := testenv.NewCgroup(t)
	rec, slot := openRecorder(t, cg)
	const perChild = 1_000_000
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { runIn(t, cg, "storm "+strconv.Itoa(perChild)) })
	}
	wg.Wait()

	set, err := rec.Calls(slot)
	if err != nil {
		t.Fatal(err)
	}
	for _, nr := range []int{nrGetppid, nrSysinfo, 59 /* execve */} {
		if !set.Has(Native, nr) {
			t.Errorf("call %d missing from the bitmap: %v", nr, set.Numbers(Native))
		}
	}
	if set.Has(Native, nrReboot) {
		t.Errorf("reboot (%d) is in the bitmap, but nobody called it", nrReboot)
	}
	c, err := rec.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c.Calls < 2*perChild {
		t.Errorf("counted %d calls in the cgroup, want at least %d", c.Calls, 2*perChild)
	}
	if c.Missed() != 0 {
		t.Errorf("counters %+v: a storm of in-range calls must miss none", c)
	}
}

// TestConventionsAndRange: an x32 call is recorded as x32 with its number
// less the x32 bit, and a number past the bitmap is counted.
func TestConventionsAndRange(t *testing.T) {
	cg := testenv.NewCgroup(t)
	rec, slot := openRecorder(t, cg)
	runIn(t, cg, "odd")

	set, err := rec.Calls(slot)
	if err != nil {
		t.Fatal(err)
	}
	if !set.Has(X32, nrGetpid) {
		t.Errorf("x32 getpid missing: x32 calls %v", set.Numbers(X32))
	}
	c, err := rec.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c.OutOfRange == 0 {
		t.Errorf("counters %+v: call %d was not counted out of range", c, outOfRange)
	}
}

// TestIA32: an ia32 call ("int $0x80") is recorded as ia32, on machines
// that have a 32-bit entry; where they have none, nothing is recorded as
// ia32 and the test says so.
func TestIA32(t *testing.T) {
	cg := testenv.NewCgroup(t)
	rec, slot := openRecorder(t, cg)
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitLimit)
	defer cancel()
	ia32 := kernel.CompatSyscalls(ctx)
	if ia32 != nil && !errors.Is(ia32, kernel.ErrNoCompatSyscalls) {
		t.Fatal(ia32)
	}
	if ia32 == nil {
		runIn(t, cg, "odd", "VH16S_IA32=1")
	}
	set, err := rec.Calls(slot)
	if err != nil {
		t.Fatal(err)
	}
	if ia32 != nil {
		if n := set.Numbers(IA32); len(n) != 0 {
			t.Errorf("ia32 calls %v recorded on a machine without a 32-bit entry", n)
		}
		t.Skipf("this machine lacks a 32-bit system call entry (%v)", ia32)
	}
	if !set.Has(IA32, ia32Getpid) {
		t.Errorf("ia32 getpid missing: ia32 calls %v", set.Numbers(IA32))
	}
}

// TestDescendantsAndOutsiders: a child cgroup created after recording
// started is recorded with its parent; a process outside is not.
func TestDescendantsAndOutsiders(t *testing.T) {
	cg := testenv.NewCgroup(t)
	rec, slot := openRecorder(t, cg)
	sub := cg.Path + "/vh16s-sub"
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(sub) })
	fd, err := unix.Open(sub, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)

	var info unix.Sysinfo_t
	if err := unix.Sysinfo(&info); err != nil { // outside: must not count
		t.Fatal(err)
	}
	set, err := rec.Calls(slot)
	if err != nil {
		t.Fatal(err)
	}
	if set.Has(Native, nrSysinfo) {
		t.Fatal("sysinfo of a process outside the cgroup was recorded")
	}
	runIn(t, testenv.Cgroup{Root: cg.Root, Path: sub, FD: fd}, "storm 1")
	if set, err = rec.Calls(slot); err != nil {
		t.Fatal(err)
	}
	if !set.Has(Native, nrSysinfo) || !set.Has(Native, nrGetppid) {
		t.Errorf("calls of a process in a child cgroup missing: %v", set.Numbers(Native))
	}
}
