package modguard

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
)

// approval is the file at path as an allowlist approves it for policy.
func approval(t *testing.T, path string) (File, Approval) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return File{Dev: unix.Major(st.Dev)<<20 | unix.Minor(st.Dev), Ino: st.Ino},
		Approval{Policies: 1 << policy, Size: uint64(st.Size), CtimeSec: st.Ctim.Sec, CtimeNsec: st.Ctim.Nsec}
}

// TestAllowlistApprovesTheFileNotItsName: under a blocking policy with an
// allowlist, finit_module of the approved file goes on (ENOSYS here,
// unreported); a copy of it under the same name elsewhere, the same file
// once written to, and any init_module are killed.
func TestAllowlistApprovesTheFileNotItsName(t *testing.T) {
	e := setup(t)
	e.block(enforce)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	approved := filepath.Join(dir, "vh16m_ok.ko")
	if err := os.WriteFile(approved, []byte(garbage), 0o644); err != nil {
		t.Fatal(err)
	}
	f, a := approval(t, approved)
	if err := e.guard.SetAllowed(map[File]Approval{f: a}); err != nil {
		t.Fatal(err)
	}

	res := e.run("finit:"+approved, false)
	wantFinished(t, res, "ENOSYS")
	e.none(res.PID)

	// the same name and content, another inode
	other := filepath.Join(dir, "copy")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(other, "vh16m_ok.ko")
	if err := os.WriteFile(copyPath, []byte(garbage), 0o644); err != nil {
		t.Fatal(err)
	}
	res = e.run("finit:"+copyPath, false)
	wantKilled(t, res)
	if r := e.one(res.PID); r.Path != copyPath || r.AllowChanged {
		t.Errorf("record %+v; want the copy killed, not as a changed approved file", r.Record)
	}

	// init_module is never approved
	res = e.run("init", false)
	wantKilled(t, res)
	e.one(res.PID)

	// the approved file, rewritten in place: same inode, new change time
	if err := os.WriteFile(approved, []byte(garbage+" and a payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = e.run("finit:"+approved, false)
	wantKilled(t, res)
	if r := e.one(res.PID); !r.AllowChanged || r.Action != pinned.ActionKilled {
		t.Errorf("record %+v; want killed, marked as a changed approved file", r.Record)
	}

	// approving it again (user space hashed the new content) lets it go on
	f, a = approval(t, approved)
	if err := e.guard.SetAllowed(map[File]Approval{f: a}); err != nil {
		t.Fatal(err)
	}
	res = e.run("finit:"+approved, false)
	wantFinished(t, res, "ENOSYS")
	e.none(res.PID)

	// an approval by another policy does not approve it for this one
	a.Policies = 1 << (policy + 1)
	if err := e.guard.SetAllowed(map[File]Approval{f: a}); err != nil {
		t.Fatal(err)
	}
	res = e.run("finit:"+approved, false)
	wantKilled(t, res)
	e.one(res.PID)
}

// TestAllowlistMonitor: in monitor mode an unapproved load is reported
// as would_kill, an approved one not at all.
func TestAllowlistMonitor(t *testing.T) {
	e := setup(t)
	e.block(monitor)
	dir := t.TempDir()
	ok, bad := filepath.Join(dir, "vh16m_ok.ko"), filepath.Join(dir, "vh16m_bad.ko")
	for _, p := range []string{ok, bad} {
		if err := os.WriteFile(p, []byte(garbage), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, a := approval(t, ok)
	if err := e.guard.SetAllowed(map[File]Approval{f: a}); err != nil {
		t.Fatal(err)
	}
	res := e.run("finit:"+ok, false)
	wantFinished(t, res, "ENOSYS")
	e.none(res.PID)
	res = e.run("finit:"+bad, false)
	wantFinished(t, res, "ENOSYS")
	if r := e.one(res.PID); r.Action != pinned.ActionWouldKill {
		t.Errorf("record %+v; want would_kill", r.Record)
	}
}
