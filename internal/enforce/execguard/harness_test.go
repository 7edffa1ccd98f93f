package execguard

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/wire"
)

// The test binary doubles as the binary under test: run with helperEnv set
// it creates the marker file named there, which a blocked exec must never
// do. "exec-after-line" mode first waits for the test to let it go on
// (enforcetest.RunGated) and then execs the file named by helperTarget, in
// marker mode.
const (
	helperEnv    = "VIGIL_EXECGUARD_MARKER"
	helperMode   = "VIGIL_EXECGUARD_MODE"
	helperTarget = "VIGIL_EXECGUARD_TARGET"
	helperPins   = "VIGIL_EXECGUARD_PINS"
)

func TestMain(m *testing.M) { enforcetest.Main(m, helperEnv, runHelper) }

func runHelper(marker string) int {
	if os.Getenv(helperMode) == "beat" {
		return beatAgent(os.Getenv(helperPins))
	}
	if os.Getenv(helperMode) == "exec-after-line" {
		if err := enforcetest.AwaitGate(); err != nil {
			fmt.Fprintln(os.Stderr, "helper: read:", err)
			return 3
		}
		target := os.Getenv(helperTarget)
		env := []string{helperEnv + "=" + marker}
		err := syscall.Exec(target, []string{target}, env)
		fmt.Fprintln(os.Stderr, "helper: exec:", err)
		return 4
	}
	if err := os.WriteFile(marker, []byte("ran\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	return 0
}

// Policies the tests use; all are scoped to the test's cgroup.
const (
	policyEnforce = 3
	policyMonitor = 5
	policyHold    = 7
)

// harness is the guard running against a pin directory, a ring and a
// cgroup of the test's own.
type harness struct {
	*enforcetest.Env
	t     *testing.T
	ring  *ring.Ring
	col   *enforcetest.Collector
	guard *Guard
	tmp   string
	holds chan Hold
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{Env: enforcetest.NewEnv(t), t: t, ring: enforcetest.NewRing(t, true), tmp: t.TempDir(),
		holds: make(chan Hold, 64)}
	h.col = enforcetest.Collect(t, h.ring)
	h.col.OnRecord = h.add
	var err error
	if h.guard, err = Load(Options{Dir: h.Dir, Ring: h.ring}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	h.col.Start()
	return h
}

// add keeps the records of the test's cgroup and hands holds over.
func (h *harness) add(raw []byte) bool {
	hdr, _ := wire.ParseHeader(raw)
	if hdr.CgroupId != h.CgroupID {
		return false // another test's or process's record
	}
	if hdr.Kind == WireExecHold {
		hold, err := DecodeHold(raw)
		if err != nil {
			h.t.Errorf("hold record does not decode: %v", err)
			return true
		}
		select {
		case h.holds <- hold:
		default:
			h.t.Errorf("hold of pid %d: nobody resolves holds", hold.PID)
		}
	}
	return true
}

// close lifts enforcement (pinned links first), then closes the guard.
func (h *harness) close() {
	if err := pinned.Remove(h.Dir); err != nil {
		h.t.Error(err)
	}
	h.guard.Close()
}

// records returns the records of pid, in order: Collector.Records drains
// the ring (a flush), so no wait for a flush interval is needed.
func (h *harness) records(pid int) [][]byte {
	h.t.Helper()
	return h.col.Records(pid)
}

func (h *harness) deny(verdicts map[string]pinned.Verdict) {
	h.t.Helper()
	want := make(map[InodeKey]pinned.Verdict)
	for path, v := range verdicts {
		key, err := Resolve(path)
		if err != nil {
			h.t.Fatal(err)
		}
		want[key] = v
	}
	if err := h.guard.SetDeny(want); err != nil {
		h.t.Fatal(err)
	}
}

// copyBinary copies the test binary into the test's directory: a new
// inode with the same content.
func (h *harness) copyBinary(name string) string {
	h.t.Helper()
	self, err := os.Executable()
	if err != nil {
		h.t.Fatal(err)
	}
	return enforcetest.CopyFile(h.t, self, filepath.Join(h.tmp, name))
}

// run is one finished execution of a binary in marker mode.
type run struct {
	enforcetest.Result
	marker string
}

func (r run) ran() bool {
	_, err := os.Stat(r.marker)
	return err == nil
}

func (r run) String() string {
	return fmt.Sprintf("%v, marker present %v", r.Result, r.ran())
}

// command prepares path to run in marker mode, in the test's cgroup unless
// outside is set.
func (h *harness) command(path string, outside bool) (*exec.Cmd, string) {
	marker := filepath.Join(h.tmp, fmt.Sprintf("marker-%d", time.Now().UnixNano()))
	cmd := exec.Command(path)
	cmd.Env = []string{helperEnv + "=" + marker}
	if !outside {
		enforcetest.InCgroup(cmd, h.Cgroup)
	}
	return cmd, marker
}

// exec runs path in marker mode to its end.
func (h *harness) exec(path string, outside bool) run {
	h.t.Helper()
	cmd, marker := h.command(path, outside)
	return run{enforcetest.Run(h.t, cmd), marker}
}

// start starts path in marker mode in the test's cgroup; wait is its end.
func (h *harness) start(path string) (*enforcetest.Proc, string) {
	h.t.Helper()
	cmd, marker := h.command(path, false)
	return enforcetest.Start(h.t, cmd), marker
}

func (h *harness) wait(p *enforcetest.Proc, marker string) run {
	h.t.Helper()
	return run{p.Wait(), marker}
}

// execAfterLine starts starter, which execs target (in marker mode) once
// it is let go on; before runs in between, with the pid that both share.
func (h *harness) execAfterLine(starter, target string, before func(pid int)) run {
	h.t.Helper()
	cmd, marker := h.command(starter, false)
	cmd.Env = append(cmd.Env, helperMode+"=exec-after-line", helperTarget+"="+target)
	return run{enforcetest.RunGated(h.t, cmd, before), marker}
}
