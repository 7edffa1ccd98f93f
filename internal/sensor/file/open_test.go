package file

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

// onThread runs f on a locked OS thread and returns that thread's id.
func onThread(f func()) uint32 {
	done := make(chan uint32)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		f()
		done <- uint32(unix.Gettid())
	}()
	return <-done
}

func mustStat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// kernelDev encodes a device number as the kernel does: major<<20 | minor.
func kernelDev(dev uint64) uint32 {
	return unix.Major(dev)<<20 | unix.Minor(dev)
}

func TestFileOpenCreateReportsKernelPathFlagsModeAndInode(t *testing.T) {
	dir := tempDir(t)
	w := watch(t, only(Config{Watch: []string{dir}}))
	p := filepath.Join(dir, "created")

	var fd int
	var err error
	tid := onThread(func() {
		fd, err = unix.Openat(unix.AT_FDCWD, p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o640)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)

	ev := w.waitFor(t, "file_open_create", at(event.KindFileOpen, p))
	st := mustStat(t, p)
	if ev.Process.TID != tid {
		t.Errorf("tid %d, want %d", ev.Process.TID, tid)
	}
	if ev.Syscall.Name != "openat" || ev.Syscall.Ret != int64(fd) || ev.Syscall.Error != "" {
		t.Errorf("syscall %+v, want openat returning %d", ev.Syscall, fd)
	}
	f := ev.File
	for _, want := range []string{"O_WRONLY", "O_CREAT", "O_EXCL", "O_CLOEXEC"} {
		if !slices.Contains(f.Flags, want) {
			t.Errorf("flags %v lack %s", f.Flags, want)
		}
	}
	if f.Mode != 0o640 {
		t.Errorf("mode %o, want 640", f.Mode)
	}
	if f.Inode != st.Ino || f.Dev != kernelDev(st.Dev) {
		t.Errorf("inode %d dev %#x, want %d %#x", f.Inode, f.Dev, st.Ino, kernelDev(st.Dev))
	}
	if f.PathSource != "kernel" || len(f.Truncated) > 0 {
		t.Errorf("path source %q truncated %v, want kernel and whole", f.PathSource, f.Truncated)
	}
	if ev.Process.Cgroup.ID == 0 {
		t.Error("no cgroup id")
	}
}

func TestFileOpenEveryOpenSyscall(t *testing.T) {
	dir := tempDir(t)
	w := watch(t, only(Config{Watch: []string{dir}}))
	cases := []struct {
		syscall string
		open    func(p string) (int, error)
	}{
		{"open", func(p string) (int, error) {
			b, _ := unix.BytePtrFromString(p)
			fd, _, e := unix.Syscall(unix.SYS_OPEN, uintptr(unsafePtr(b)), unix.O_RDONLY|unix.O_CREAT, 0o600)
			return int(fd), errnoErr(e)
		}},
		{"creat", func(p string) (int, error) {
			b, _ := unix.BytePtrFromString(p)
			fd, _, e := unix.Syscall(unix.SYS_CREAT, uintptr(unsafePtr(b)), 0o600, 0)
			return int(fd), errnoErr(e)
		}},
		{"openat2", func(p string) (int, error) {
			return unix.Openat2(unix.AT_FDCWD, p, &unix.OpenHow{Flags: unix.O_RDWR | unix.O_CREAT, Mode: 0o600})
		}},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.syscall)
		fd, err := c.open(p)
		if err != nil {
			t.Fatalf("%s: %v", c.syscall, err)
		}
		unix.Close(fd)
		ev := w.waitFor(t, "file_open_"+c.syscall, func(ev *event.Event) bool {
			return at(event.KindFileOpen, p)(ev) && ev.Syscall.Name == c.syscall
		})
		if ev.Syscall.Ret != int64(fd) {
			t.Errorf("%s: ret %d, want %d", c.syscall, ev.Syscall.Ret, fd)
		}
		if c.syscall == "creat" && !slices.Equal(ev.File.Flags, []string{"O_WRONLY", "O_CREAT", "O_TRUNC"}) {
			t.Errorf("creat flags %v", ev.File.Flags)
		}
		if c.syscall == "openat2" && !slices.Equal(ev.File.Flags, []string{"O_RDWR", "O_CREAT"}) {
			t.Errorf("openat2 flags %v", ev.File.Flags)
		}
	}
}

func TestFileOpenFailedOfWatchedPathCarriesError(t *testing.T) {
	dir := tempDir(t)
	w := watch(t, only(Config{Watch: []string{dir}}))
	missing := filepath.Join(dir, "missing")
	if _, err := unix.Open(missing, unix.O_RDONLY, 0); err != unix.ENOENT {
		t.Fatalf("open %s: %v, want ENOENT", missing, err)
	}
	ev := w.waitFor(t, "file_open_enoent", at(event.KindFileOpen, missing))
	if ev.Syscall.Ret != -int64(unix.ENOENT) || ev.Syscall.Error != "ENOENT" {
		t.Errorf("syscall %+v, want -ENOENT", ev.Syscall)
	}
	if ev.File.PathSource != "argument" || ev.File.Inode != 0 {
		t.Errorf("path source %q inode %d: want an argument path and no inode", ev.File.PathSource, ev.File.Inode)
	}

	// relative to a dirfd: made absolute against the kernel's path of it
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	if _, err := unix.Openat(dfd, "sub/also-missing", unix.O_WRONLY, 0); err != unix.ENOENT {
		t.Fatalf("openat: %v, want ENOENT", err)
	}
	w.waitFor(t, "file_open_enoent_dirfd", at(event.KindFileOpen, filepath.Join(dir, "sub/also-missing")))
}

func TestFileOpenUnwatchedPathsNeverCrossTheRing(t *testing.T) {
	dir := tempDir(t)
	watched := filepath.Join(dir, "watched")
	writes := filepath.Join(dir, "writes")
	other := filepath.Join(dir, "other")
	for _, d := range []string{watched, writes, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w := watch(t, only(Config{Watch: []string{watched}, WatchWrites: []string{writes}}))
	touch := func(p string, flags int) {
		t.Helper()
		fd, err := unix.Open(p, flags|unix.O_CLOEXEC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
	}
	touch(filepath.Join(other, "a"), unix.O_CREAT|unix.O_RDWR)      // unwatched dir
	touch(filepath.Join(dir, "watchedX"), unix.O_CREAT|unix.O_RDWR) // a sibling sharing the prefix
	touch(filepath.Join(writes, "w"), unix.O_CREAT|unix.O_WRONLY)   // a write where writes are watched
	touch(filepath.Join(writes, "w"), unix.O_RDONLY)                // a read where only writes are
	touch(filepath.Join(watched, "r"), unix.O_CREAT|unix.O_RDONLY)
	touch(filepath.Join(watched, "r"), unix.O_RDONLY) // the sentinel: a read where reads are watched

	w.waitFor(t, "file_open_read", func(ev *event.Event) bool {
		return at(event.KindFileOpen, filepath.Join(watched, "r"))(ev) && slices.Equal(ev.File.Flags, []string{"O_RDONLY", "O_CLOEXEC"})
	})
	w.waitFor(t, "file_open_write", at(event.KindFileOpen, filepath.Join(writes, "w")))
	w.none(t, "unwatched", at(event.KindFileOpen, filepath.Join(other, "a")))
	w.none(t, "sibling", at(event.KindFileOpen, filepath.Join(dir, "watchedX")))
	if n := len(w.find(at(event.KindFileOpen, filepath.Join(writes, "w")))); n != 1 {
		t.Errorf("%d events for %s, want 1: the write, not the read", n, filepath.Join(writes, "w"))
	}
}
