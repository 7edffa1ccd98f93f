package execguard

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
)

// script writes a #! script that creates the marker, as the test binary
// does in marker mode.
func (h *harness) script(name, interpreter string) string {
	h.t.Helper()
	path := filepath.Join(h.tmp, name)
	body := "#!" + interpreter + "\n: > \"$" + helperEnv + "\"\n"
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// TestDeniedScriptIsKilled: a #! script is matched by its own inode, not
// its interpreter's, also through a symlink and as the interpreter of
// another script.
func TestDeniedScriptIsKilled(t *testing.T) {
	h := newHarness(t)
	denied := h.script("denied.sh", "/bin/sh")
	allowed := h.script("allowed.sh", "/bin/sh")
	nested := h.script("nested.sh", denied)
	sym := filepath.Join(h.tmp, "via-symlink.sh")
	if err := os.Symlink(denied, sym); err != nil {
		t.Fatal(err)
	}
	h.Scope(1<<policyEnforce, 0)
	h.deny(map[string]pinned.Verdict{denied: {Enforce: 1 << policyEnforce}})
	key, err := Resolve(denied)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := Resolve("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}

	if r := h.exec(allowed, false); !r.Success() || !r.ran() {
		t.Fatalf("allowed script: %v, want it to run", r)
	}
	for _, path := range []string{denied, sym, nested} {
		r := h.exec(path, false)
		if !r.Killed || r.ran() {
			t.Fatalf("%s: %v, want killed without a marker", path, r)
		}
		ev, raw := h.enforceRecord(r.PID)
		if path == denied {
			enforcetest.Seed(t, "FuzzDecode", raw)
		}
		wantEnforcement(t, ev, policyEnforce, event.ActionKilled, HookScript)
		p := ev.Process
		if ev.File == nil || ev.File.Inode != key.Ino || ev.File.Dev != key.Dev || p.Script != path ||
			p.Executable.Inode != sh.Ino || p.Executable.Dev != sh.Dev {
			t.Fatalf("%s: file %+v, script %q, executable %+v; want script %+v run by /bin/sh %+v",
				path, ev.File, p.Script, p.Executable, key, sh)
		}
	}
}

// TestScriptOfDeniedImageRuns: the image a process leaves when it execs a
// script is released during that exec too (its file joins the same
// task_works list); it must not be taken for the script. The starter is
// allowed when it starts, denied before it execs an allowed script.
func TestScriptOfDeniedImageRuns(t *testing.T) {
	h := newHarness(t)
	starter := h.copyBinary("starter")
	allowed := h.script("allowed.sh", "/bin/sh")
	h.Scope(1<<policyEnforce, 0)
	r := h.execAfterLine(starter, allowed, func(int) {
		h.deny(map[string]pinned.Verdict{starter: {Enforce: 1 << policyEnforce}})
	})
	if !r.Success() || !r.ran() {
		t.Fatalf("allowed script exec'd by a now denied image: %v, want it to run", r)
	}
	// the starter itself is denied now
	if r := h.exec(starter, false); !r.Killed {
		t.Fatalf("starter: %v, want killed", r)
	}
}
