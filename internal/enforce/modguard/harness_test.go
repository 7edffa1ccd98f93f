package modguard

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/modguard/compat"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/ring"
)

// helperEnv makes the test binary a helper process that tries to load a
// module: "[wait:]init", "[wait:]finit:PATH" or "[wait:]compat-init". It
// prints the call's errno name, then "done".
const helperEnv = "VIGIL_MODGUARD_HELPER"

// The image and parameters the helpers pass to init_module.
const (
	garbage = "\x7fELF, but not a module"
	params  = "vigil_test=1 debug"
)

func TestMain(m *testing.M) { enforcetest.Main(m, helperEnv, runHelper) }

func runHelper(job string) int {
	if rest, ok := strings.CutPrefix(job, "wait:"); ok {
		job = rest
		if err := enforcetest.AwaitGate(); err != nil {
			fmt.Fprintln(os.Stderr, "helper: wait:", err)
			return 2
		}
	}
	call, arg, _ := strings.Cut(job, ":")
	var err error
	switch call {
	case "init":
		err = unix.InitModule([]byte(garbage), params)
	case "finit":
		f, oerr := os.Open(arg)
		if oerr != nil {
			fmt.Fprintln(os.Stderr, "helper:", oerr)
			return 1
		}
		err = unix.FinitModule(int(f.Fd()), "", 0)
	case "compat-init":
		err = compatInit()
	default:
		fmt.Fprintf(os.Stderr, "helper: unknown job %q\n", job)
		return 2
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		fmt.Fprintln(os.Stderr, "helper: the call succeeded or failed oddly:", err)
		return 1
	}
	fmt.Println(unix.ErrnoName(errno))
	fmt.Println("done")
	return 0
}

// compatInit calls ia32 init_module (128) through "int $0x80", its image
// and parameters in memory a 32-bit pointer reaches.
func compatInit() error {
	mem, err := compat.LowMemory(4096)
	if err != nil {
		return err
	}
	copy(mem, garbage)
	copy(mem[1024:], params+"\x00")
	base := uint32(uintptr(unsafePointer(mem)))
	ret, err := compat.Syscall(128, base, uint32(len(garbage)), base+1024)
	if err != nil {
		return err
	}
	if ret >= 0 {
		return nil
	}
	return syscall.Errno(-ret)
}

// env is a loaded guard on a ring of its own, with the test's cgroup as
// the scope of policy 5, and the test process exempt (as the agent is).
type env struct {
	*enforcetest.Env
	t     *testing.T
	ring  *ring.Ring
	col   *enforcetest.Collector
	guard *Guard
}

const policy = 5

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{Env: enforcetest.NewEnv(t), t: t, ring: enforcetest.NewRing(t, true)}
	e.col = enforcetest.Collect(t, e.ring)
	var err error
	if e.guard, err = Load(Options{PinDir: e.Dir, Ring: e.ring}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if e.guard != nil {
			e.guard.Close()
		}
	})
	e.Scope(1<<policy, 0)
	e.col.Start()
	return e
}

var (
	enforce = pinned.Verdict{Enforce: 1 << policy}
	monitor = pinned.Verdict{Monitor: 1 << policy}
)

func (e *env) block(v pinned.Verdict) {
	e.t.Helper()
	if err := e.guard.SetBlock(v); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) command(job string, outside bool) *exec.Cmd {
	e.t.Helper()
	return enforcetest.Helper(e.t, helperEnv, job, e.In(outside))
}

// run runs a helper job to its end, in the test cgroup unless outside.
func (e *env) run(job string, outside bool) enforcetest.Result {
	e.t.Helper()
	return enforcetest.Run(e.t, e.command(job, outside))
}

// captured is a record with its bytes.
type captured struct {
	Record
	raw []byte
}

// records returns the records of pid, decoded.
func (e *env) records(pid int) []captured {
	e.t.Helper()
	var out []captured
	for _, raw := range e.col.Records(pid) {
		r, err := DecodeRecord(raw)
		if err != nil {
			e.t.Errorf("record does not decode: %v\n%q", err, raw)
			continue
		}
		enforcetest.Seed(e.t, "FuzzDecode", raw)
		out = append(out, captured{r, raw})
	}
	return out
}

func (e *env) one(pid int) captured {
	e.t.Helper()
	recs := e.records(pid)
	if len(recs) != 1 {
		e.t.Fatalf("%d records of pid %d, want 1: %+v", len(recs), pid, recs)
	}
	return recs[0]
}

func (e *env) none(pid int) {
	e.t.Helper()
	if recs := e.records(pid); len(recs) != 0 {
		e.t.Fatalf("records of pid %d: %+v, want none", pid, recs)
	}
}

func wantKilled(t *testing.T, res enforcetest.Result) {
	t.Helper()
	if !res.Killed || res.Out != "" {
		t.Fatalf("helper: killed %v, exit %d, printed %q; want killed by SIGKILL having printed nothing", res.Killed, res.Code, res.Out)
	}
}

// wantFinished: the helper ran to its end, its call failing with errno.
func wantFinished(t *testing.T, res enforcetest.Result, errno string) {
	t.Helper()
	if res.Killed || res.Code != 0 || res.Out != errno+"\ndone\n" {
		t.Fatalf("helper: killed %v, exit %d, printed %q; want exit 0 having printed %q", res.Killed, res.Code, res.Out, errno+"\ndone\n")
	}
}
