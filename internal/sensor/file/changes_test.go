package file

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

// mustSys makes a raw system call the test needs to succeed.
func mustSys(t *testing.T, name string, nr uintptr, args ...any) uintptr {
	t.Helper()
	r, err := sys(nr, args...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func mkfile(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte("x"), mode); err != nil {
		t.Fatal(err)
	}
}

// bySyscall matches events of kind about path made by one syscall.
func bySyscall(kind event.Kind, path, syscall string) func(*event.Event) bool {
	return func(ev *event.Event) bool {
		return at(kind, path)(ev) && ev.Syscall.Name == syscall
	}
}

func TestFileUnlinkEverySyscall(t *testing.T) {
	dir := tempDir(t)
	w := watch(t, only(Config{WatchWrites: []string{dir}}))
	p := func(n string) string { return filepath.Join(dir, n) }
	mkfile(t, p("a"), 0o644)
	mkfile(t, p("b"), 0o644)
	for _, d := range []string{"c", "d"} {
		if err := os.Mkdir(p(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustSys(t, "unlink", unix.SYS_UNLINK, p("a"))
	mustSys(t, "unlinkat", unix.SYS_UNLINKAT, unix.AT_FDCWD, p("b"), 0)
	mustSys(t, "unlinkat", unix.SYS_UNLINKAT, unix.AT_FDCWD, p("c"), unix.AT_REMOVEDIR)
	mustSys(t, "rmdir", unix.SYS_RMDIR, p("d"))
	if _, err := sys(unix.SYS_UNLINK, p("gone")); err != unix.ENOENT {
		t.Fatalf("unlink of a missing file: %v", err)
	}

	for _, c := range []struct{ name, syscall string }{
		{"a", "unlink"}, {"b", "unlinkat"}, {"c", "unlinkat"}, {"d", "rmdir"}, {"gone", "unlink"},
	} {
		ev := w.waitFor(t, "file_unlink_"+c.syscall+"_"+c.name, bySyscall(event.KindFileUnlink, p(c.name), c.syscall))
		if ev.File.PathSource != "argument" {
			t.Errorf("%s: path source %q, want argument", c.name, ev.File.PathSource)
		}
		removeDir := c.name == "c" || c.name == "d"
		if slices.Contains(ev.File.Flags, "AT_REMOVEDIR") != removeDir {
			t.Errorf("%s: flags %v", c.name, ev.File.Flags)
		}
		if c.name == "gone" && ev.Syscall.Error != "ENOENT" {
			t.Errorf("failed unlink: syscall %+v, want ENOENT", ev.Syscall)
		}
	}
}

func TestFileRenameReportsBothPaths(t *testing.T) {
	dir := tempDir(t)
	outside := tempDir(t)
	w := watch(t, only(Config{WatchWrites: []string{dir}}))
	p := func(n string) string { return filepath.Join(dir, n) }
	mkfile(t, p("a"), 0o644)
	mkfile(t, filepath.Join(outside, "dropped"), 0o644)

	mustSys(t, "rename", unix.SYS_RENAME, p("a"), p("b"))
	mustSys(t, "renameat", unix.SYS_RENAMEAT, unix.AT_FDCWD, p("b"), unix.AT_FDCWD, p("c"))
	mustSys(t, "renameat2", unix.SYS_RENAMEAT2, unix.AT_FDCWD, p("c"), unix.AT_FDCWD, p("d"), unix.RENAME_NOREPLACE)
	// from an unwatched directory into a watched one: the new name counts
	mustSys(t, "rename", unix.SYS_RENAME, filepath.Join(outside, "dropped"), p("dropped"))

	for _, c := range []struct{ from, to, syscall string }{
		{p("a"), p("b"), "rename"}, {p("b"), p("c"), "renameat"}, {p("c"), p("d"), "renameat2"},
		{filepath.Join(outside, "dropped"), p("dropped"), "rename"},
	} {
		ev := w.waitFor(t, "file_rename_"+c.syscall, bySyscall(event.KindFileRename, c.from, c.syscall))
		if ev.File.NewPath != c.to {
			t.Errorf("%s %s: new path %q, want %q", c.syscall, c.from, ev.File.NewPath, c.to)
		}
		if c.syscall == "renameat2" && !slices.Equal(ev.File.Flags, []string{"RENAME_NOREPLACE"}) {
			t.Errorf("renameat2 flags %v", ev.File.Flags)
		}
	}
}

func TestFileChmodFlagsSetuidAndFdPathsComeFromTheKernel(t *testing.T) {
	dir := tempDir(t)
	w := watch(t, only(Config{WatchWrites: []string{dir}}))
	p := filepath.Join(dir, "tool")
	mkfile(t, p, 0o644)

	mustSys(t, "chmod", unix.SYS_CHMOD, p, 0o4755)
	ev := w.waitFor(t, "file_chmod_setuid", bySyscall(event.KindFileChmod, p, "chmod"))
	if ev.File.Mode != 0o4755 || !ev.File.Setuid || ev.File.Setgid {
		t.Errorf("chmod 4755: mode %o setuid %v setgid %v", ev.File.Mode, ev.File.Setuid, ev.File.Setgid)
	}

	mustSys(t, "fchmodat", unix.SYS_FCHMODAT, unix.AT_FDCWD, p, 0o2750)
	ev = w.waitFor(t, "file_chmod_fchmodat", bySyscall(event.KindFileChmod, p, "fchmodat"))
	if ev.File.Mode != 0o2750 || ev.File.Setuid || !ev.File.Setgid {
		t.Errorf("fchmodat 2750: mode %o setuid %v setgid %v", ev.File.Mode, ev.File.Setuid, ev.File.Setgid)
	}

	// fchmodat2 (Linux 6.6) with AT_SYMLINK_NOFOLLOW on a regular file:
	// where the kernel has the call it must succeed and be reported;
	// where it lacks it, the tracepoint is missing too and ENOSYS is all
	if slices.Contains(w.sensor.Missing(), "sys_exit_fchmodat2") {
		if _, err := sys(unix.SYS_FCHMODAT2, unix.AT_FDCWD, p, 0o600, unix.AT_SYMLINK_NOFOLLOW); err != unix.ENOSYS {
			t.Errorf("fchmodat2 without its tracepoint: %v, want ENOSYS", err)
		}
	} else {
		mustSys(t, "fchmodat2", unix.SYS_FCHMODAT2, unix.AT_FDCWD, p, 0o600, unix.AT_SYMLINK_NOFOLLOW)
		if m := mustStat(t, p).Mode & 0o7777; m != 0o600 {
			t.Errorf("fchmodat2 left mode %o, want 600", m)
		}
		ev = w.waitFor(t, "file_chmod_fchmodat2", bySyscall(event.KindFileChmod, p, "fchmodat2"))
		if !slices.Equal(ev.File.Flags, []string{"AT_SYMLINK_NOFOLLOW"}) || ev.File.Mode != 0o600 {
			t.Errorf("fchmodat2: flags %v mode %o, want AT_SYMLINK_NOFOLLOW 600", ev.File.Flags, ev.File.Mode)
		}
		if ev.Syscall.Ret != 0 || ev.Syscall.Error != "" {
			t.Errorf("fchmodat2: syscall %+v, want success", ev.Syscall)
		}
	}

	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	mustSys(t, "fchmod", unix.SYS_FCHMOD, fd, 0o640)
	ev = w.waitFor(t, "file_chmod_fchmod", bySyscall(event.KindFileChmod, p, "fchmod"))
	st := mustStat(t, p)
	if ev.File.PathSource != "kernel" || ev.File.Inode != st.Ino || ev.File.Mode != 0o640 {
		t.Errorf("fchmod: source %q inode %d mode %o, want kernel %d 640", ev.File.PathSource, ev.File.Inode, ev.File.Mode, st.Ino)
	}
}

func TestFileChownReportsTheNewOwner(t *testing.T) {
	dir := tempDir(t)
	w := watch(t, only(Config{WatchWrites: []string{dir}}))
	p := filepath.Join(dir, "owned")
	mkfile(t, p, 0o644)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	mustSys(t, "chown", unix.SYS_CHOWN, p, 1234, -1)
	mustSys(t, "lchown", unix.SYS_LCHOWN, link, -1, 4321)
	mustSys(t, "fchownat", unix.SYS_FCHOWNAT, unix.AT_FDCWD, link, 7, 8, unix.AT_SYMLINK_NOFOLLOW)
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	mustSys(t, "fchown", unix.SYS_FCHOWN, fd, 0, 0)

	ptr := func(v uint32) *uint32 { return &v }
	for _, c := range []struct {
		path, syscall string
		uid, gid      *uint32
	}{
		{p, "chown", ptr(1234), nil}, {link, "lchown", nil, ptr(4321)},
		{link, "fchownat", ptr(7), ptr(8)}, {p, "fchown", ptr(0), ptr(0)},
	} {
		ev := w.waitFor(t, "file_chown_"+c.syscall, bySyscall(event.KindFileChown, c.path, c.syscall))
		if !sameID(ev.File.UID, c.uid) || !sameID(ev.File.GID, c.gid) {
			t.Errorf("%s: uid %v gid %v, want %v %v", c.syscall, show(ev.File.UID), show(ev.File.GID), show(c.uid), show(c.gid))
		}
	}
}

func sameID(a, b *uint32) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func show(v *uint32) any {
	if v == nil {
		return "unchanged"
	}
	return *v
}

func TestFileLinkAndSymlinkReportBothNames(t *testing.T) {
	dir := tempDir(t)
	w := watch(t, only(Config{WatchWrites: []string{dir}}))
	p := func(n string) string { return filepath.Join(dir, n) }
	mkfile(t, p("orig"), 0o644)
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)

	mustSys(t, "link", unix.SYS_LINK, p("orig"), p("hard"))
	mustSys(t, "linkat", unix.SYS_LINKAT, dfd, "orig", dfd, "hard2", 0)
	mustSys(t, "symlink", unix.SYS_SYMLINK, "/etc/shadow", p("soft"))
	mustSys(t, "symlinkat", unix.SYS_SYMLINKAT, "orig", dfd, "soft2")

	ev := w.waitFor(t, "file_link", bySyscall(event.KindFileLink, p("orig"), "link"))
	if ev.File.NewPath != p("hard") {
		t.Errorf("link new path %q", ev.File.NewPath)
	}
	ev = w.waitFor(t, "file_link_at", bySyscall(event.KindFileLink, p("orig"), "linkat"))
	if ev.File.NewPath != p("hard2") {
		t.Errorf("linkat new path %q", ev.File.NewPath)
	}
	ev = w.waitFor(t, "file_symlink", bySyscall(event.KindFileSymlink, p("soft"), "symlink"))
	if ev.File.Target != "/etc/shadow" {
		t.Errorf("symlink target %q", ev.File.Target)
	}
	ev = w.waitFor(t, "file_symlink_at", bySyscall(event.KindFileSymlink, p("soft2"), "symlinkat"))
	if ev.File.Target != "orig" {
		t.Errorf("symlinkat target %q", ev.File.Target)
	}
}

// A symlink made in an unwatched directory is reported when its target is
// absolute and watched: matched cleaned, reported as written. An absolute
// target with ".." may lead anywhere and is reported; relative and
// unwatched targets are not.
func TestFileSymlinkIsReportedByAWatchedTarget(t *testing.T) {
	root := tempDir(t)
	watched, other := filepath.Join(root, "watched"), filepath.Join(root, "other")
	for _, d := range []string{watched, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(watched, "secret")
	mkfile(t, secret, 0o600)
	w := watch(t, only(Config{WatchWrites: []string{watched}}))
	link := func(n string) string { return filepath.Join(other, n) }

	mustSys(t, "symlink unwatched target", unix.SYS_SYMLINK, filepath.Join(other, "x"), link("to-other"))
	mustSys(t, "symlink relative target", unix.SYS_SYMLINK, "../watched/secret", link("relative"))
	mustSys(t, "symlink", unix.SYS_SYMLINK, secret, link("to-secret"))
	mustSys(t, "symlink dotted target", unix.SYS_SYMLINK, watched+"//./secret", link("dotted"))
	mustSys(t, "symlink dotdot target", unix.SYS_SYMLINK, other+"/../watched/secret", link("dotdot"))
	if got, err := os.ReadFile(link("dotted")); err != nil || string(got) != "x" {
		t.Fatalf("the dotted link does not lead to the watched file: %q %v", got, err)
	}

	for _, c := range []struct{ name, target string }{
		{"to-secret", secret}, {"dotted", watched + "//./secret"}, {"dotdot", other + "/../watched/secret"},
	} {
		ev := w.waitFor(t, "file_symlink_target_"+c.name, bySyscall(event.KindFileSymlink, link(c.name), "symlink"))
		if ev.File.Target != c.target {
			t.Errorf("%s: target %q, want %q as written", c.name, ev.File.Target, c.target)
		}
	}
	w.none(t, "unwatched target", at(event.KindFileSymlink, link("to-other")))
	w.none(t, "relative target", at(event.KindFileSymlink, link("relative")))
}

func TestFileTruncateAndMkdir(t *testing.T) {
	dir := tempDir(t)
	w := watch(t, only(Config{WatchWrites: []string{dir}}))
	p := func(n string) string { return filepath.Join(dir, n) }
	mkfile(t, p("log"), 0o644)
	mustSys(t, "truncate", unix.SYS_TRUNCATE, p("log"), 0)
	fd, err := unix.Open(p("log"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	mustSys(t, "ftruncate", unix.SYS_FTRUNCATE, fd, 0)
	mustSys(t, "mkdir", unix.SYS_MKDIR, p("d1"), 0o750)
	mustSys(t, "mkdirat", unix.SYS_MKDIRAT, unix.AT_FDCWD, p("d2"), 0o700)

	w.waitFor(t, "file_truncate", bySyscall(event.KindFileTruncate, p("log"), "truncate"))
	ev := w.waitFor(t, "file_ftruncate", bySyscall(event.KindFileTruncate, p("log"), "ftruncate"))
	if ev.File.PathSource != "kernel" || ev.File.Inode == 0 {
		t.Errorf("ftruncate: source %q inode %d", ev.File.PathSource, ev.File.Inode)
	}
	ev = w.waitFor(t, "file_mkdir", bySyscall(event.KindFileMkdir, p("d1"), "mkdir"))
	if ev.File.Mode != 0o750 {
		t.Errorf("mkdir mode %o", ev.File.Mode)
	}
	ev = w.waitFor(t, "file_mkdirat", bySyscall(event.KindFileMkdir, p("d2"), "mkdirat"))
	if ev.File.Mode != 0o700 {
		t.Errorf("mkdirat mode %o", ev.File.Mode)
	}
}

func TestMemfdCreateReportsNameFlagsAndInode(t *testing.T) {
	w := watch(t, only(Config{}))
	fd, err := unix.MemfdCreate("vigil-test-memfd", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	ev := w.waitFor(t, "memfd_create", at(event.KindMemfdCreate, "memfd:vigil-test-memfd"))
	f := ev.File
	if f.Name != "vigil-test-memfd" || f.Inode != st.Ino || ev.Syscall.Ret != int64(fd) {
		t.Errorf("memfd: name %q inode %d ret %d, want %d %d", f.Name, f.Inode, ev.Syscall.Ret, st.Ino, fd)
	}
	if !slices.Equal(f.Flags, []string{"MFD_CLOEXEC", "MFD_ALLOW_SEALING"}) {
		t.Errorf("memfd flags %v", f.Flags)
	}
}
