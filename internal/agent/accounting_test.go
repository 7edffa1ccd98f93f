package agent

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
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
// dropped equals what happened. Run once with a roomy ring read all along,
// and once with a one-page ring that nobody reads until the processes are
// done: N forks, execs and exits cannot fit in a page, so drops happen by
// construction (not by hoping the consumer falls behind) and must be
// counted.
func TestEveryProcessAccountedFor(t *testing.T) {
	const n = 5000
	for _, tc := range []struct {
		name     string
		ringSize int
		// readLate: the ring is read only after the processes ended
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
			r := load(t, Config{Ring: rc, Cgroup: cg.Rel()})
			if !tc.readLate {
				r.run()
			}

			helper := exec.Command(mustExecutable(t), "-test.run=^$")
			helper.Env = append(os.Environ(), helperEnv+"="+strconv.Itoa(n))
			helper.Stderr = os.Stderr
			helper.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
			if err := helper.Run(); err != nil {
				t.Fatalf("helper: %v", err)
			}
			if tc.readLate {
				r.run()
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
			if tc.readLate && dropped == 0 {
				t.Errorf("%d processes into an unread one-page ring dropped nothing: the drop path went untested", n)
			}
			if !tc.readLate {
				// the consumer read all along: it may fall behind on a
				// loaded machine, and what it lost is counted above
				t.Logf("roomy ring: %d dropped", dropped)
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
