package execguard

import (
	"errors"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pidfd"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
)

// TestLoadContinuesOldHolds: an exec_held pinned by a version whose entries
// had no expiry timer is unpinned as incompatible when the guard loads; the
// processes it held are continued first, not left stopped with nothing to
// find them.
func TestLoadContinuesOldHolds(t *testing.T) {
	env := enforcetest.NewEnv(t)
	old, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4,
		ValueSize: uint32(unsafe.Sizeof(execguardHeldExec{})), MaxEntries: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := old.Pin(filepath.Join(env.Dir, "exec_held")); err != nil {
		t.Fatal(err)
	}

	// a process stopped as an old agent's hold left it
	cmd := exec.Command("/bin/sleep", "60")
	p := enforcetest.Start(t, cmd)
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	awaitState(t, p.PID(), "T")
	ticks, err := pidfd.StartTicks(uint32(p.PID()))
	if err != nil {
		t.Fatal(err)
	}
	entry := execguardHeldExec{StartTime: ticks * uint64(pidfd.Tick), Policies: 1 << policyHold}
	if err := old.Put(uint32(p.PID()), entry); err != nil {
		t.Fatal(err)
	}

	g, err := Load(Options{Dir: env.Dir, Ring: enforcetest.NewRing(t, true)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pinned.Remove(env.Dir); err != nil {
			t.Error(err)
		}
		g.Close()
	})
	awaitNotStopped(t, p.PID())
	var k uint32
	if err := old.NextKey(nil, &k); !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Errorf("old exec_held: key %d, %v; want it emptied", k, err)
	}
	_ = cmd.Process.Kill()
	p.Wait()
}
