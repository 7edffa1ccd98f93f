package agent

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/sensor/ring"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// helperEnv makes the test binary act as a fork/exec load generator.
const helperEnv = "VIGIL_TEST_FORKEXEC"

func init() {
	// Not a registry: when re-executed as a helper, the test binary does
	// the helper's job and exits before any test runs.
	if n, err := strconv.Atoi(os.Getenv(helperEnv)); err == nil {
		os.Exit(forkExecLoop(n))
	}
}

// forkExecLoop starts /bin/true n times, one after the other, as fast as
// it can.
func forkExecLoop(n int) int {
	attr := &syscall.ProcAttr{Env: []string{}}
	for i := 0; i < n; i++ {
		pid, err := syscall.ForkExec("/bin/true", []string{"true"}, attr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fork/exec:", err)
			return 1
		}
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			fmt.Fprintln(os.Stderr, "wait:", err)
			return 1
		}
	}
	return 0
}

// TestEveryProcessAccountedFor: N short processes in a cgroup of their own;
// for each kind, records delivered plus records the kernel counted as
// dropped equals what happened. Run once with a roomy ring and once with a
// tiny ring and a slow consumer, where drops must happen and be counted.
func TestEveryProcessAccountedFor(t *testing.T) {
	const n = 5000
	for _, tc := range []struct {
		name      string
		ringSize  int
		slow      time.Duration
		wantDrops bool
	}{
		{"roomy", 8 << 20, 0, false},
		{"tiny-and-slow", os.Getpagesize(), 200 * time.Microsecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.RequirePrivileged(t)
			cg := testenv.NewCgroup(t)
			rc := ring.DefaultConfig()
			rc.Size = tc.ringSize
			r := start(t, Config{Ring: rc, Cgroup: cg.Rel(), Sink: &collector{delay: tc.slow}})

			helper := exec.Command(mustExecutable(t), "-test.run=^$")
			helper.Env = append(os.Environ(), helperEnv+"="+strconv.Itoa(n))
			helper.Stderr = os.Stderr
			helper.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
			if err := helper.Run(); err != nil {
				t.Fatalf("helper: %v", err)
			}
			r.stop(t) // drains the ring

			sum, err := r.Summary()
			if err != nil {
				t.Fatal(err)
			}
			// n children, plus the helper's own fork (into the cgroup),
			// exec and exit
			want := map[event.Kind]uint64{
				event.KindProcessFork: n + 1,
				event.KindProcessExec: n + 1,
				event.KindProcessExit: n + 1,
			}
			var dropped uint64
			for kind, produced := range want {
				got := sum.Records[kind]
				lost := ring.Lost(sum.Losses, ring.RingbufFull, kind)
				dropped += lost
				if got+lost != produced {
					t.Errorf("%s: %d delivered + %d dropped = %d, want %d", kind, got, lost, got+lost, produced)
				}
			}
			if sum.Malformed != 0 {
				t.Errorf("%d malformed records", sum.Malformed)
			}
			if tc.wantDrops && dropped == 0 {
				t.Errorf("a one-page ring and a slow consumer dropped nothing: the drop path went untested")
			}
			t.Logf("delivered %v, losses %+v", sum.Records, sum.Losses)
		})
	}
}

func mustExecutable(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
