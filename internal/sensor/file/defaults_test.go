package file

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// writeFile creates (or truncates) p and writes to it, as an attacker's
// echo > p does.
func writeFile(t *testing.T, p string, mode uint32) {
	t.Helper()
	fd, err := unix.Open(p, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, mode)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte("x\n")); err != nil {
		t.Fatal(err)
	}
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// The default watch set finds a cgroup v1 release_agent written wherever
// the hierarchy is mounted (a container escape mounts its own): by the
// file's name. A read of it is not reported. The files here are the
// test's own, in a directory laid out like a cgroup mount; no real
// release_agent is touched.
func TestDefaultsWatchReleaseAgentWritesAnywhere(t *testing.T) {
	dir := tempDir(t)
	cg := filepath.Join(dir, "cgrp", "x")
	mkdirs(t, cg)
	w := watch(t, Config{})
	top, sub := filepath.Join(dir, "cgrp", "release_agent"), filepath.Join(cg, "release_agent")
	mkfile(t, top, 0o644)
	openClose(t, top, unix.O_RDONLY, 0)
	writeFile(t, sub, 0o644)
	writeFile(t, top, 0o644)

	ev := w.waitFor(t, "file_open_release_agent", at(event.KindFileOpen, top))
	if !slices.Contains(ev.File.Flags, "O_WRONLY") {
		t.Errorf("flags %v", ev.File.Flags)
	}
	w.waitFor(t, "file_open_release_agent_nested", at(event.KindFileOpen, sub))
	if n := len(w.find(at(event.KindFileOpen, top))); n != 2 { // mkfile's and writeFile's
		t.Errorf("%d opens of %s reported, want the 2 writes and not the read", n, top)
	}
}

// A user's shell startup files, histories and user systemd units are
// watched for changes by name, in a home directory anywhere (here a fake
// one under the test's directory); startup files for reads too, histories
// and other files of the home are not.
func TestDefaultsWatchHomeStartupFilesHistoriesAndUserUnits(t *testing.T) {
	home := filepath.Join(tempDir(t), "home", "ann")
	units := filepath.Join(home, ".config", "systemd", "user")
	mkdirs(t, units)
	bashrc, history := filepath.Join(home, ".bashrc"), filepath.Join(home, ".bash_history")
	mkfile(t, history, 0o600)
	notes := filepath.Join(home, "notes.txt")
	w := watch(t, Config{})

	writeFile(t, notes, 0o644)              // an ordinary file of the home: quiet
	openClose(t, history, unix.O_RDONLY, 0) // a read: quiet
	writeFile(t, bashrc, 0o644)             // startup file: reported
	writeFile(t, filepath.Join(units, "x.service"), 0o644)
	t.Chdir(home)
	mustSys(t, "unlink .bash_history", unix.SYS_UNLINK, ".bash_history") // by argument, relative
	openClose(t, bashrc, unix.O_RDONLY, 0)                               // a read: reported
	mustSys(t, "truncate .bashrc", unix.SYS_TRUNCATE, bashrc, 0)

	w.waitFor(t, "file_open_bashrc", at(event.KindFileOpen, bashrc))
	w.waitFor(t, "file_open_user_unit", at(event.KindFileOpen, filepath.Join(units, "x.service")))
	ev := w.waitFor(t, "file_unlink_history", at(event.KindFileUnlink, history))
	if ev.File.PathSource != "argument" {
		t.Errorf("unlink path source %q", ev.File.PathSource)
	}
	w.waitFor(t, "file_truncate_bashrc", at(event.KindFileTruncate, bashrc))
	w.none(t, "ordinary file", at(event.KindFileOpen, notes))
	w.none(t, "history read", at(event.KindFileOpen, history))
	opens := w.find(at(event.KindFileOpen, bashrc))
	reads := 0
	for _, r := range opens {
		if !slices.Contains(r.ev.File.Flags, "O_WRONLY") && !slices.Contains(r.ev.File.Flags, "O_RDWR") {
			reads++
		}
	}
	if len(opens) != 2 || reads != 1 {
		t.Errorf("%d opens of %s reported (%d reads), want the write and the read", len(opens), bashrc, reads)
	}
}

// A path is walked across mount points: a file in a tmpfs mounted on a
// watched directory is reported with its whole path, and its inode is the
// tmpfs's.
func TestFileWalkCrossesAMountPoint(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := tempDir(t)
	mnt := filepath.Join(dir, "mnt")
	mkdirs(t, mnt)
	if err := unix.Mount("vigil-test", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", mnt, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	sub := filepath.Join(mnt, "sub")
	mkdirs(t, sub)
	p := filepath.Join(sub, "f")
	mkfile(t, p, 0o644)
	w := watch(t, only(Config{Watch: []string{mnt}}))
	openClose(t, p, unix.O_RDONLY, 0)
	ev := w.waitFor(t, "file_open_across_mount", at(event.KindFileOpen, p))
	st := mustStat(t, p)
	if ev.File.Inode != st.Ino || ev.File.Dev != kernelDev(st.Dev) || ev.File.PathSource != "kernel" {
		t.Errorf("inode %d dev %#x source %q, want %d %#x kernel", ev.File.Inode, ev.File.Dev, ev.File.PathSource, st.Ino, kernelDev(st.Dev))
	}
	var parent unix.Stat_t
	if err := unix.Stat(dir, &parent); err != nil {
		t.Fatal(err)
	}
	if parent.Dev == st.Dev {
		t.Fatal("the tmpfs is not mounted: same device as its parent")
	}
}

// /dev/shm is a tmpfs mounted below devtmpfs: an executable dropped there
// is reported by the default watch set under its whole path.
func TestDefaultsWatchExecutablesInDevShm(t *testing.T) {
	w := watch(t, Config{})
	f, err := os.CreateTemp("/dev/shm", "vigil-test-")
	if err != nil {
		t.Fatal(err)
	}
	p := f.Name()
	f.Close()
	t.Cleanup(func() { os.Remove(p) })
	data := p + ".data"
	t.Cleanup(func() { os.Remove(data) })
	writeFile(t, data, 0o644) // not executable: quiet
	writeFile(t, p, 0o755)    // an existing file, created 0600: not executable yet
	mustSys(t, "chmod +x", unix.SYS_CHMOD, p, 0o755)
	exe := p + ".exe"
	t.Cleanup(func() { os.Remove(exe) })
	writeFile(t, exe, 0o755)

	w.waitFor(t, "file_chmod_dev_shm", at(event.KindFileChmod, p))
	ev := w.waitFor(t, "file_open_dev_shm", at(event.KindFileOpen, exe))
	if ev.File.Mode != 0o755 || ev.File.PathSource != "kernel" {
		t.Errorf("mode %o source %q", ev.File.Mode, ev.File.PathSource)
	}
	w.none(t, "data file", at(event.KindFileOpen, data))
}

// The kernel's own files keep their path across the proc mount:
// /proc/sys is watched for writes by default; here a read where reads are
// watched shows the walk, without writing any sysctl.
func TestFileWalkNamesProcSysFiles(t *testing.T) {
	const p = "/proc/sys/kernel/core_pattern"
	w := watch(t, only(Config{Watch: []string{"/proc/sys/kernel"}}))
	openClose(t, p, unix.O_RDONLY, 0)
	w.waitFor(t, "file_open_proc_sys", at(event.KindFileOpen, p))
}
