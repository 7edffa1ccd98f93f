package execguard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/wire"
)

func testDecoder() Decoder { return Decoder{Clock: kernel.NewBootClock().Time} }

// enforceRecord returns the one KIND_ENFORCE_EXEC record of pid, decoded.
func (h *harness) enforceRecord(pid int) (*event.Event, []byte) {
	h.t.Helper()
	var found [][]byte
	for _, raw := range h.records(pid) {
		if hdrKind(raw) == WireEnforceExec {
			found = append(found, raw)
		}
	}
	if len(found) != 1 {
		h.t.Fatalf("pid %d: %d enforce records, want 1", pid, len(found))
	}
	ev, err := testDecoder().Decode(found[0])
	if err != nil {
		h.t.Fatalf("enforce record does not decode: %v", err)
	}
	return ev, found[0]
}

func hdrKind(raw []byte) uint16 {
	if len(raw) < 2 {
		return 0
	}
	return uint16(raw[0]) | uint16(raw[1])<<8
}

func wantEnforcement(t *testing.T, ev *event.Event, policy int, action event.Action, hook string) {
	t.Helper()
	e := ev.Enforcement
	if ev.Kind != event.KindProcessExec || e == nil || e.PolicyID != policy || e.Action != action ||
		e.Mechanism != event.MechanismKernel || e.Hook != hook || e.Error != "" {
		t.Fatalf("event %s with enforcement %+v, want process_exec, policy %d, %s, kernel, %s",
			ev.Kind, e, policy, action, hook)
	}
}

// TestDeniedInodeIsKilled: a binary denied by inode is killed by SIGKILL
// before its first instruction (no marker), and the record says who, what
// and why.
func TestDeniedInodeIsKilled(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("denied")
	h.Scope(1<<policyEnforce, 0)
	h.deny(map[string]pinned.Verdict{bin: {Enforce: 1 << policyEnforce}})

	r := h.exec(bin, false)
	if !r.Killed || r.ran() {
		t.Fatalf("denied binary: %v, want killed by SIGKILL without a marker", r)
	}
	ev, raw := h.enforceRecord(r.PID)
	enforcetest.Seed(t, "FuzzDecode", raw)
	wantEnforcement(t, ev, policyEnforce, event.ActionKilled, HookExec)
	key, err := Resolve(bin)
	if err != nil {
		t.Fatal(err)
	}
	p := ev.Process
	if p.PID != uint32(r.PID) || p.TID != uint32(r.PID) || p.Filename != bin || p.Cgroup.ID != h.CgroupID ||
		p.Executable == nil || p.Executable.Dev != key.Dev || p.Executable.Inode != key.Ino {
		t.Fatalf("process %+v executable %+v, want pid %d, filename %s, cgroup %d, file %d:%d",
			p, p.Executable, r.PID, bin, h.CgroupID, key.Dev, key.Ino)
	}
	if p.StartTime.IsZero() || ev.Time.Before(p.StartTime) {
		t.Errorf("start %v, event time %v", p.StartTime, ev.Time)
	}
	hits, err := h.State.Hits()
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].Policy != policyEnforce || hits[0].Action != pinned.ActionKilled || hits[0].Count != 1 {
		t.Errorf("hits = %+v, want one kill of policy %d", hits, policyEnforce)
	}
}

// TestLinksDoNotBypass: a symlink and a hardlink to a denied binary name
// the same inode, so they are killed too.
func TestLinksDoNotBypass(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("denied")
	sym := filepath.Join(h.tmp, "via-symlink")
	hard := filepath.Join(h.tmp, "via-hardlink")
	if err := os.Symlink(bin, sym); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(bin, hard); err != nil {
		t.Fatal(err)
	}
	h.Scope(1<<policyEnforce, 0)
	h.deny(map[string]pinned.Verdict{bin: {Enforce: 1 << policyEnforce}})

	for _, path := range []string{sym, hard} {
		r := h.exec(path, false)
		if !r.Killed || r.ran() {
			t.Fatalf("%s: %v, want killed without a marker", path, r)
		}
		ev, _ := h.enforceRecord(r.PID)
		if ev.Process.Filename != path {
			t.Errorf("filename %q, want %q", ev.Process.Filename, path)
		}
	}
}

// TestAllowedBinaryRuns: a binary not on the list runs, and so does the
// denied one outside the cgroup its policy is scoped to.
func TestAllowedBinaryRuns(t *testing.T) {
	h := newHarness(t)
	denied := h.copyBinary("denied")
	allowed := h.copyBinary("allowed")
	h.Scope(1<<policyEnforce, 0)
	h.deny(map[string]pinned.Verdict{denied: {Enforce: 1 << policyEnforce}})

	if r := h.exec(allowed, false); !r.Success() || !r.ran() {
		t.Fatalf("allowed binary: %v, want it to run", r)
	}
	if r := h.exec(denied, true); !r.Success() || !r.ran() {
		t.Fatalf("denied binary outside the policy's cgroup: %v, want it to run", r)
	}
}

// TestMonitorModeReportsWouldKill: a monitor-mode policy reports would_kill
// and the binary runs.
func TestMonitorModeReportsWouldKill(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("watched")
	h.Scope(1<<policyMonitor, 0)
	h.deny(map[string]pinned.Verdict{bin: {Monitor: 1 << policyMonitor}})

	r := h.exec(bin, false)
	if !r.Success() || !r.ran() {
		t.Fatalf("monitored binary: %v, want it to run", r)
	}
	ev, raw := h.enforceRecord(r.PID)
	enforcetest.Seed(t, "FuzzDecode", raw)
	wantEnforcement(t, ev, policyMonitor, event.ActionWouldKill, HookExec)
}

// TestExemptTgidIsNotKilled: a process in exempt_tgids execs a denied
// binary and lives.
func TestExemptTgidIsNotKilled(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("denied")
	h.Scope(1<<policyEnforce, 0)
	h.deny(map[string]pinned.Verdict{bin: {Enforce: 1 << policyEnforce}})

	// the starter is the (allowed) test binary itself; it execs the
	// denied one once it is exempt, keeping its pid
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := h.execAfterLine(self, bin, func(pid int) {
		if err := h.State.SetExempt([]uint32{uint32(pid)}); err != nil {
			t.Fatal(err)
		}
	})
	if !r.Success() || !r.ran() {
		t.Fatalf("exempt process: %v, want it to run", r)
	}
	// and the same without the exemption is killed
	if err := h.State.SetExempt(nil); err != nil {
		t.Fatal(err)
	}
	if r := h.execAfterLine(self, bin, func(int) {}); !r.Killed || r.ran() {
		t.Fatalf("not exempt: %v, want killed", r)
	}
}

// TestPinnedLinkOutlivesGuard: after Close the pinned links still kill;
// pinned.Remove lifts enforcement.
func TestPinnedLinkOutlivesGuard(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("denied")
	h.Scope(1<<policyEnforce, 0)
	h.deny(map[string]pinned.Verdict{bin: {Enforce: 1 << policyEnforce}})
	if err := h.guard.Close(); err != nil {
		t.Fatal(err)
	}
	if r := h.exec(bin, false); !r.Killed || r.ran() {
		t.Fatalf("after Close: %v, want killed", r)
	}
	if err := pinned.Remove(h.Dir); err != nil {
		t.Fatal(err)
	}
	if r := h.exec(bin, false); !r.Success() || !r.ran() {
		t.Fatalf("after pinned.Remove: %v, want it to run", r)
	}
}

// TestLongFilenameIsCut: a filename longer than the record holds is cut,
// flagged and counted; the kill does not depend on it.
func TestLongFilenameIsCut(t *testing.T) {
	h := newHarness(t)
	bin := h.copyBinary("denied")
	long := h.tmp
	for len(long) < 600 {
		long = filepath.Join(long, strings.Repeat("d", 100))
	}
	if err := os.MkdirAll(long, 0o755); err != nil {
		t.Fatal(err)
	}
	long = filepath.Join(long, "denied")
	if err := os.Link(bin, long); err != nil {
		t.Fatal(err)
	}
	h.Scope(1<<policyEnforce, 0)
	h.deny(map[string]pinned.Verdict{bin: {Enforce: 1 << policyEnforce}})

	r := h.exec(long, false)
	if !r.Killed || r.ran() {
		t.Fatalf("denied binary with a long name: %v, want killed", r)
	}
	ev, raw := h.enforceRecord(r.PID)
	enforcetest.Seed(t, "FuzzDecode", raw)
	p := ev.Process
	if p.Filename != long[:511] || len(p.Truncated) != 1 || p.Truncated[0] != "filename" {
		t.Fatalf("filename %q (truncated %v), want the first 511 bytes of %q, flagged", p.Filename, p.Truncated, long)
	}
	losses, err := h.ring.Losses()
	if err != nil {
		t.Fatal(err)
	}
	if n := ring.Lost(losses, ring.Truncated, wire.KindName(WireEnforceExec)); n != 1 {
		t.Errorf("%d truncated enforce records counted, want 1 (%+v)", n, losses)
	}
}
