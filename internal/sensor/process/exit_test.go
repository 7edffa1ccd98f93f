package process

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/wire"
)

// exitGroupHelperEnv makes the test binary a process of several busy
// threads that ends them all at once with exit_group.
const exitGroupHelperEnv = "VIGIL_PROCESS_TEST_EXIT_GROUP"

func exitGroupHelper() int {
	var started sync.WaitGroup
	var spins atomic.Uint64
	for range 8 {
		started.Add(1)
		go func() {
			runtime.LockOSThread() // a thread of its own, running when the process ends
			started.Done()
			for {
				spins.Add(1)
			}
		}()
	}
	started.Wait()
	os.Exit(0) // exit_group: every thread exits, on whichever CPU it runs
	return 0
}

// TestOneExitPerProcess: processes whose threads all end at once (several
// of them can find the process's live count at zero) are each reported
// exiting exactly once, unless the record was lost and counted.
func TestOneExitPerProcess(t *testing.T) {
	testenv.RequirePrivileged(t)
	cg := testenv.NewCgroup(t)
	id, err := kernel.CgroupID(cg.Path)
	if err != nil {
		t.Fatal(err)
	}
	level, err := kernel.CgroupLevel(cg.Root, cg.Path)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	var pids []int
	rec, r := recordScoped(t, ring.Scope{CgroupID: id, CgroupLevel: level}, func() {
		for range n {
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), exitGroupHelperEnv+"=1")
			cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("helper: %v: %s", err, out)
			}
			pids = append(pids, cmd.Process.Pid)
		}
	})
	exits := map[uint32]int{}
	for _, raw := range rec.raws {
		h, err := wire.ParseHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		if h.Kind == wire.ProcessExit {
			exits[h.Pid]++
		}
	}
	losses, err := r.Losses()
	if err != nil {
		t.Fatal(err)
	}
	lost := ring.Lost(losses, ring.RingbufFull, "process_exit")
	var missing uint64
	for _, pid := range pids {
		switch exits[uint32(pid)] {
		case 1:
		case 0:
			missing++
		default:
			t.Errorf("process %d: %d exits reported", pid, exits[uint32(pid)])
		}
	}
	if missing != lost {
		t.Errorf("%d processes without an exit, %d exits counted lost", missing, lost)
	}
}
