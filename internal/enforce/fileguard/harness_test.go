package fileguard

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/ring"
)

// helperEnv makes the test binary a helper process that opens one file:
// "[wait:]MODE:PATH". With wait it first waits for the test to let it go
// on (enforcetest.RunGated). A readable descriptor's content is printed;
// "done" follows.
const helperEnv = "VIGIL_FILEGUARD_HELPER"

func TestMain(m *testing.M) { enforcetest.Main(m, helperEnv, runHelper) }

var helperModes = map[string]int{
	"r":       unix.O_RDONLY,
	"w":       unix.O_WRONLY,
	"rw":      unix.O_RDWR,
	"creat":   unix.O_WRONLY | unix.O_CREAT,
	"rdcreat": unix.O_RDONLY | unix.O_CREAT,
	"trunc":   unix.O_WRONLY | unix.O_TRUNC,
	"rdtrunc": unix.O_RDONLY | unix.O_TRUNC,
}

func runHelper(job string) int {
	if rest, ok := strings.CutPrefix(job, "wait:"); ok {
		job = rest
		if err := enforcetest.AwaitGate(); err != nil {
			fmt.Fprintln(os.Stderr, "helper: wait:", err)
			return 2
		}
	}
	mode, path, _ := strings.Cut(job, ":")
	call, mode, ok := strings.Cut(mode, ".")
	if !ok {
		call, mode = "openat", call
	}
	flags, ok := helperModes[mode]
	if !ok {
		fmt.Fprintf(os.Stderr, "helper: unknown mode %q\n", mode)
		return 2
	}
	fd, err := openBy(call, path, flags|unix.O_CLOEXEC)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open:", err)
		return 1
	}
	if flags&unix.O_ACCMODE != unix.O_WRONLY {
		buf := make([]byte, 4096)
		n, _ := unix.Read(fd, buf)
		os.Stdout.Write(buf[:max(n, 0)])
	}
	unix.Close(fd)
	fmt.Println("done")
	return 0
}

// openBy opens path with one of the calls the guard watches.
func openBy(call, path string, flags int) (int, error) {
	switch call {
	case "openat":
		return unix.Openat(unix.AT_FDCWD, path, flags, 0o644)
	case "open", "creat": // x/sys/unix makes both openat
		p, err := unix.BytePtrFromString(path)
		if err != nil {
			return -1, err
		}
		nr, args := uintptr(unix.SYS_OPEN), []uintptr{uintptr(unsafe.Pointer(p)), uintptr(flags), 0o644}
		if call == "creat" {
			nr, args = unix.SYS_CREAT, []uintptr{uintptr(unsafe.Pointer(p)), 0o644, 0}
		}
		fd, _, e := unix.Syscall(nr, args[0], args[1], args[2])
		if e != 0 {
			return -1, e
		}
		return int(fd), nil
	case "openat2":
		how := unix.OpenHow{Flags: uint64(flags)}
		if flags&unix.O_CREAT != 0 { // openat2 refuses a mode it would not use
			how.Mode = 0o644
		}
		return unix.Openat2(unix.AT_FDCWD, path, &how)
	case "handle": // needs CAP_DAC_READ_SEARCH
		h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, path, 0)
		if err != nil {
			return -1, err
		}
		mnt, err := unix.Open(filepath.Dir(path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		defer unix.Close(mnt)
		return unix.OpenByHandleAt(mnt, h, flags)
	}
	return -1, fmt.Errorf("unknown call %q", call)
}

// env is a loaded guard on a ring of its own, with the test's cgroup as
// the scope of policy 3, and the test process exempt (as the agent is).
type env struct {
	*enforcetest.Env
	t     *testing.T
	ring  *ring.Ring
	col   *enforcetest.Collector
	guard *Guard
}

const policy = 3

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

// protect makes path the only protected entry.
func (e *env) protect(path string, entry Entry) InodeKey {
	e.t.Helper()
	key, _, err := e.guard.Resolve(path)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.guard.SetProtected(map[InodeKey]Entry{key: entry}); err != nil {
		e.t.Fatal(err)
	}
	return key
}

var (
	enforce = pinned.Verdict{Enforce: 1 << policy}
	monitor = pinned.Verdict{Monitor: 1 << policy}
)

// run runs a helper job to its end, in the test cgroup unless outside.
func (e *env) run(job string, outside bool) enforcetest.Result {
	e.t.Helper()
	return enforcetest.Run(e.t, e.command(job, outside))
}

func (e *env) command(job string, outside bool) *exec.Cmd {
	e.t.Helper()
	return enforcetest.Helper(e.t, helperEnv, job, e.In(outside))
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
		if _, err := (Decoder{}).Decode(raw); err != nil {
			e.t.Errorf("Decode: %v", err)
		}
		enforcetest.Seed(e.t, "FuzzDecode", raw)
		out = append(out, captured{r, raw})
	}
	return out
}

// one returns the one record of pid.
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

func wantFinished(t *testing.T, res enforcetest.Result, out string) {
	t.Helper()
	if res.Killed || res.Code != 0 || res.Out != out+"done\n" {
		t.Fatalf("helper: killed %v, exit %d, printed %q; want exit 0 having printed %q", res.Killed, res.Code, res.Out, out+"done\n")
	}
}

// wantRecord checks the record of an enforcement.
func wantRecord(t *testing.T, r Record, action pinned.Action, path string, file, match InodeKey, depth int) {
	t.Helper()
	if r.Action != action || r.Policy != policy {
		t.Errorf("record: policy %d action %d, want policy %d action %d", r.Policy, r.Action, policy, action)
	}
	if r.Path != path || r.File != file || r.Match != match || r.Depth != depth {
		t.Errorf("record: path %q file %v match %v depth %d; want %q %v %v %d", r.Path, r.File, r.Match, r.Depth, path, file, match, depth)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func content(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tempDir is t.TempDir with its symlinks resolved, as the kernel names it.
func tempDir(t *testing.T) string {
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}
