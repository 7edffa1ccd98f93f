package fileguard

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
)

// TestWriteOpenKilled: opening a write-protected file for writing kills
// the opener; the record names the file, the entry and the policy.
func TestWriteOpenKilled(t *testing.T) {
	e := setup(t)
	path := filepath.Join(tempDir(t), "secret")
	writeFile(t, path, "keep")
	key := e.protect(path, Entry{Write: enforce})

	res := e.run("w:"+path, false)
	wantKilled(t, res)
	r := e.one(res.PID)
	wantRecord(t, r.Record, pinned.ActionKilled, path, key, key, 0)
	if r.Syscall != "openat" || !r.Write || r.Read || r.FD < 0 {
		t.Errorf("record: %s write %v read %v fd %d; want openat, a write, a descriptor", r.Syscall, r.Write, r.Read, r.FD)
	}
	if got := content(t, path); got != "keep" {
		t.Errorf("content after the kill: %q, want it untouched", got)
	}

	ev, err := (Decoder{}).Decode(r.raw)
	if err != nil {
		t.Fatal(err)
	}
	want := event.Enforcement{PolicyID: policy, Action: event.ActionKilled, Mechanism: "kernel", Hook: "sys_exit_openat",
		Match: event.EnforceMatch{Dev: uint64(key.Dev), Ino: key.Ino}}
	if ev.Kind != event.KindFileOpen || *ev.Enforcement != want || ev.File.Path != path ||
		ev.File.PathSource != "kernel" || ev.File.Inode != key.Ino || ev.File.Dev != key.Dev ||
		ev.Process.PID != uint32(res.PID) || !slices.Contains(ev.File.Flags, "O_WRONLY") {
		t.Errorf("event: %+v file %+v enforcement %+v", ev, ev.File, ev.Enforcement)
	}
}

// TestReadAllowedWhenOnlyWriteProtected: a reader of a write-protected
// file reads it and is not reported.
func TestReadAllowedWhenOnlyWriteProtected(t *testing.T) {
	e := setup(t)
	path := filepath.Join(tempDir(t), "config")
	writeFile(t, path, "hello\n")
	e.protect(path, Entry{Write: enforce})

	res := e.run("r:"+path, false)
	wantFinished(t, res, "hello\n")
	e.none(res.PID)
}

// TestReadProtectionKillsBeforeRead: a read-protected file kills its
// reader before the read: the helper prints what it read, and prints
// nothing. O_RDWR counts as a read.
func TestReadProtectionKillsBeforeRead(t *testing.T) {
	e := setup(t)
	path := filepath.Join(tempDir(t), "shadow")
	writeFile(t, path, "root:$6$hash\n")
	key := e.protect(path, Entry{Read: enforce})

	for _, mode := range []string{"r", "rw"} {
		res := e.run(mode+":"+path, false)
		wantKilled(t, res)
		r := e.one(res.PID)
		wantRecord(t, r.Record, pinned.ActionKilled, path, key, key, 0)
		if !r.Read {
			t.Errorf("%s: the record does not count the open as a read", mode)
		}
	}
	// a write is not what this entry forbids
	res := e.run("w:"+path, false)
	wantFinished(t, res, "")
	e.none(res.PID)
}

// TestSubtreeCreateKilled: a directory's subtree entry kills whoever
// creates a file below it, but the file exists: the documented side
// effect of killing at syscall exit. A read-only O_CREAT is a write too.
func TestSubtreeCreateKilled(t *testing.T) {
	e := setup(t)
	dir := filepath.Join(tempDir(t), "etc")
	if err := os.MkdirAll(filepath.Join(dir, "cron.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	dirKey := e.protect(dir, Entry{Subtree: true, Write: enforce})

	for _, mode := range []string{"creat", "rdcreat"} {
		path := filepath.Join(dir, "cron.d", "job-"+mode)
		res := e.run(mode+":"+path, false)
		wantKilled(t, res)
		st, err := os.Stat(path)
		if err != nil || st.Size() != 0 {
			t.Fatalf("%s: the created file: %v, %v; want it present and empty", mode, st, err)
		}
		fileKey, _, err := e.guard.Resolve(path)
		if err != nil {
			t.Fatal(err)
		}
		r := e.one(res.PID)
		wantRecord(t, r.Record, pinned.ActionKilled, path, fileKey, dirKey, 2)
		if !slices.Contains(openFlagNames(r.Flags()), "O_CREAT") {
			t.Errorf("%s: flags %v lack O_CREAT", mode, openFlagNames(r.Flags()))
		}
	}
	// reading below a write-protected subtree is allowed
	res := e.run("r:"+filepath.Join(dir, "cron.d", "job-creat"), false)
	wantFinished(t, res, "")
	e.none(res.PID)
}

// TestTruncKilledLeavesFileEmpty: O_TRUNC kills, and the file is empty
// afterwards (the documented side effect), also on a read-only descriptor.
func TestTruncKilledLeavesFileEmpty(t *testing.T) {
	e := setup(t)
	path := filepath.Join(tempDir(t), "passwd")
	for _, mode := range []string{"trunc", "rdtrunc"} {
		writeFile(t, path, "root:x:0:0\n")
		key := e.protect(path, Entry{Write: enforce})
		res := e.run(mode+":"+path, false)
		wantKilled(t, res)
		if got := content(t, path); got != "" {
			t.Errorf("%s: content after the kill %q, want the file emptied", mode, got)
		}
		r := e.one(res.PID)
		wantRecord(t, r.Record, pinned.ActionKilled, path, key, key, 0)
		if !slices.Contains(openFlagNames(r.Flags()), "O_TRUNC") {
			t.Errorf("%s: flags %v lack O_TRUNC", mode, openFlagNames(r.Flags()))
		}
	}
}

// TestLinksCaught: a hardlink and a symlink to a protected file are the
// same inode; the record's path is the name that was opened.
func TestLinksCaught(t *testing.T) {
	e := setup(t)
	dir := tempDir(t)
	path := filepath.Join(dir, "secret")
	writeFile(t, path, "keep")
	hard, soft := filepath.Join(dir, "hard"), filepath.Join(dir, "soft")
	if err := os.Link(path, hard); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("secret", soft); err != nil {
		t.Fatal(err)
	}
	key := e.protect(path, Entry{Write: enforce})

	for via, kernelPath := range map[string]string{hard: hard, soft: path} {
		res := e.run("w:"+via, false)
		wantKilled(t, res)
		wantRecord(t, e.one(res.PID).Record, pinned.ActionKilled, kernelPath, key, key, 0)
	}
}

// TestRenamedDirectoryStaysProtected: the entry is the directory's inode,
// so a rename does not lift it.
func TestRenamedDirectoryStaysProtected(t *testing.T) {
	e := setup(t)
	base := tempDir(t)
	dir := filepath.Join(base, "keys")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "id"), "k")
	dirKey := e.protect(dir, Entry{Subtree: true, Write: enforce})
	moved := filepath.Join(base, "elsewhere")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(moved, "id")
	fileKey, _, err := e.guard.Resolve(path)
	if err != nil {
		t.Fatal(err)
	}
	res := e.run("w:"+path, false)
	wantKilled(t, res)
	wantRecord(t, e.one(res.PID).Record, pinned.ActionKilled, path, fileKey, dirKey, 1)
}

// TestMonitorReportsWouldKill: a monitoring policy reports and lets the
// process finish.
func TestMonitorReportsWouldKill(t *testing.T) {
	e := setup(t)
	path := filepath.Join(tempDir(t), "watched")
	writeFile(t, path, "data")
	key := e.protect(path, Entry{Write: monitor, Read: monitor})

	res := e.run("rw:"+path, false)
	wantFinished(t, res, "data")
	wantRecord(t, e.one(res.PID).Record, pinned.ActionWouldKill, path, key, key, 0)

	// an enforcing policy beats a monitoring one on the same entry
	e.protect(path, Entry{Write: pinned.Verdict{Enforce: 1 << policy, Monitor: 1 << policy}})
	res = e.run("w:"+path, false)
	wantKilled(t, res)
	wantRecord(t, e.one(res.PID).Record, pinned.ActionKilled, path, key, key, 0)
}

// TestExemptNotKilled: an exempt process opens the file unharmed and
// unreported.
func TestExemptNotKilled(t *testing.T) {
	e := setup(t)
	path := filepath.Join(tempDir(t), "secret")
	writeFile(t, path, "keep")
	e.protect(path, Entry{Write: enforce})

	res := enforcetest.RunGated(t, e.command("wait:w:"+path, false), func(pid int) {
		if err := e.State.SetExempt([]uint32{uint32(pid)}); err != nil {
			t.Fatal(err)
		}
	})
	wantFinished(t, res, "")
	e.none(res.PID)
}

// TestOutsideScopeNotKilled: the same open from outside the policy's
// cgroup is not the policy's business.
func TestOutsideScopeNotKilled(t *testing.T) {
	e := setup(t)
	path := filepath.Join(tempDir(t), "secret")
	writeFile(t, path, "keep")
	e.protect(path, Entry{Write: enforce})

	res := e.run("w:"+path, true)
	wantFinished(t, res, "")
	e.none(res.PID)
}

// TestPinnedLinkOutlivesClose: with the guard closed (the agent gone) the
// pinned links still kill; pinned.Remove lifts the protection.
func TestPinnedLinkOutlivesClose(t *testing.T) {
	e := setup(t)
	path := filepath.Join(tempDir(t), "secret")
	writeFile(t, path, "keep")
	e.protect(path, Entry{Write: enforce})
	progs := enforcetest.ProgramIDs(t, e.guard.Programs())
	if err := e.guard.Close(); err != nil {
		t.Fatal(err)
	}
	e.guard = nil

	res := e.run("w:"+path, false)
	wantKilled(t, res)
	e.one(res.PID)

	if err := pinned.Remove(e.Dir); err != nil {
		t.Fatal(err)
	}
	enforcetest.WaitFreed(t, progs)
	res = e.run("w:"+path, false)
	wantFinished(t, res, "")
	e.none(res.PID)
}

// TestEveryOpenCallCaught: each call that returns a new descriptor for a
// path is watched, with its own hook in the record.
func TestEveryOpenCallCaught(t *testing.T) {
	e := setup(t)
	path := filepath.Join(tempDir(t), "secret")
	writeFile(t, path, "keep")
	key := e.protect(path, Entry{Write: enforce})

	for _, call := range []string{"open", "openat2", "creat", "handle"} {
		res := e.run(call+".w:"+path, false)
		wantKilled(t, res)
		r := e.one(res.PID)
		wantRecord(t, r.Record, pinned.ActionKilled, path, key, key, 0)
		want := map[string]string{"handle": "open_by_handle_at"}[call]
		if want == "" {
			want = call
		}
		ev, err := (Decoder{}).Decode(r.raw)
		if err != nil || r.Syscall != want || ev.Enforcement.Hook != "sys_exit_"+want {
			t.Errorf("%s: syscall %q hook %q (%v); want %s", call, r.Syscall, ev.Enforcement.Hook, err, want)
		}
	}
}

// TestSubtreeCrossesMountPoints: a directory protects what is mounted
// below it too.
func TestSubtreeCrossesMountPoints(t *testing.T) {
	e := setup(t)
	base := tempDir(t)
	mnt := filepath.Join(base, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	path := filepath.Join(mnt, "file")
	writeFile(t, path, "x")
	baseKey := e.protect(base, Entry{Subtree: true, Write: enforce})
	fileKey, _, err := e.guard.Resolve(path)
	if err != nil {
		t.Fatal(err)
	}
	if fileKey.Dev == baseKey.Dev {
		t.Fatalf("the tmpfs has the device of the directory it is mounted in (%v)", fileKey)
	}
	res := e.run("w:"+path, false)
	wantKilled(t, res)
	// file, the tmpfs root, the dentry it is mounted on, base
	wantRecord(t, e.one(res.PID).Record, pinned.ActionKilled, path, fileKey, baseKey, 3)
}

// TestSetProtectedReconciles: the map holds exactly the last set, and the
// summary the programs read first follows it; an emptied set lets opens
// through unreported.
func TestSetProtectedReconciles(t *testing.T) {
	e := setup(t)
	dir := tempDir(t)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeFile(t, a, "a")
	writeFile(t, b, "b")
	res, err := e.guard.ResolveAll([]string{a, b, dir})
	if err != nil {
		t.Fatal(err)
	}
	ka, kb, kd := res[0].Key, res[1].Key, res[2].Key
	if res[0].IsDir || !res[2].IsDir {
		t.Errorf("IsDir: %v %v, want false true", res[0].IsDir, res[2].IsDir)
	}
	check := func(want map[InodeKey]Entry, state fileguardGuardState) {
		t.Helper()
		if err := e.guard.SetProtected(want); err != nil {
			t.Fatal(err)
		}
		var k fileguardInodeKey
		var v fileguardProtectEntry
		n := 0
		for it := e.guard.objs.FileProtect.Iterate(); it.Next(&k, &v); n++ {
			if _, ok := want[InodeKey{Dev: k.Dev, Ino: k.Ino}]; !ok {
				t.Errorf("file_protect holds %v, not asked for", k)
			}
		}
		var got fileguardGuardState
		if err := e.guard.objs.FileState.Lookup(uint32(0), &got); err != nil {
			t.Fatal(err)
		}
		if n != len(want) || got != state {
			t.Errorf("file_protect has %d entries, state %+v; want %d, %+v", n, got, len(want), state)
		}
	}
	check(map[InodeKey]Entry{ka: {Write: enforce}, kb: {Read: monitor}, kd: {Subtree: true, Read: pinned.Verdict{Enforce: 1}}},
		fileguardGuardState{Entries: 3, Subtrees: 1, WritePolicies: 1 << policy, ReadPolicies: 1<<policy | 1})
	check(map[InodeKey]Entry{kb: {Write: enforce}}, fileguardGuardState{Entries: 1, WritePolicies: 1 << policy})
	r := e.run("w:"+a, false)
	wantFinished(t, r, "")
	e.none(r.PID)
	check(nil, fileguardGuardState{})
	r = e.run("w:"+b, false)
	wantFinished(t, r, "")
	e.none(r.PID)
}

// TestResolveIsTheKernelsInode: on ext4 and tmpfs stat agrees with the
// kernel; Resolve must too, in the kernel's device encoding.
func TestResolveIsTheKernelsInode(t *testing.T) {
	e := setup(t)
	path := filepath.Join(tempDir(t), "f")
	writeFile(t, path, "")
	key, isDir, err := e.guard.Resolve(path)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	want := InodeKey{Dev: unix.Major(st.Dev)<<20 | unix.Minor(st.Dev), Ino: st.Ino}
	if key != want || isDir {
		t.Errorf("Resolve = %v dir %v, want %v (from stat) not a dir", key, isDir, want)
	}
	if _, _, err := e.guard.Resolve(filepath.Join(path, "missing")); err == nil {
		t.Error("Resolve of a missing path: no error")
	}
}
