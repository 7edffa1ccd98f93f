package file

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// openedAs matches this process's opens reported as made through link.
func openedAs(link string) func(*event.Event) bool {
	pid := uint32(os.Getpid())
	return func(ev *event.Event) bool {
		return ev.Kind == event.KindFileOpen && ev.Process.PID == pid && ev.File.OpenedAs == link
	}
}

// TestFileOpenThroughProcLink: with nothing watched, opens for writing
// through /proc/self/fd/N, /proc/PID/fd/N and /proc/thread-self/fd/N of an
// unwatched file are reported, naming the link in OpenedAs and the file by
// its kernel path; a read-only open of the same link, a write-open of the
// file by its own name, of another file and of /proc/self/fdinfo/0 (no
// magic link) are not.
func TestFileOpenThroughProcLink(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := tempDir(t)
	target := filepath.Join(dir, "vh17c-target")
	mkfile(t, target, 0o644)
	f, err := os.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := f.Fd()
	w := watch(t, only(Config{}))

	self := fmt.Sprintf("/proc/self/fd/%d", fd)
	other := filepath.Join(dir, "vh17c-other")
	mkfile(t, other, 0o644)
	for _, p := range []string{self, target, other, "/proc/self/fdinfo/0"} {
		flag := os.O_WRONLY
		if p == self {
			flag = os.O_RDONLY
		}
		if g, err := os.OpenFile(p, flag, 0); err == nil {
			g.Close()
		}
	}
	links := []string{self, fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), fd), fmt.Sprintf("/proc/thread-self/fd/%d", fd)}
	for _, link := range links {
		g, err := os.OpenFile(link, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		g.Close()
		ev := w.waitFor(t, "file_open_proc_link", openedAs(link))
		if ev.File.Path != target || ev.File.PathSource != "kernel" || ev.File.Inode == 0 ||
			!slices.Contains(ev.File.Flags, "O_WRONLY") {
			t.Errorf("open through %s: %+v", link, ev.File)
		}
	}
	// records come in the order the kernel reserved them: anything of the
	// opens before is in by now
	w.none(t, "unwatched open", func(ev *event.Event) bool {
		return ev.Kind == event.KindFileOpen && ev.Process.PID == uint32(os.Getpid()) &&
			(ev.File.OpenedAs == "" || slices.Contains(ev.File.Flags, "O_RDONLY"))
	})
}

// TestFileOpenProcExeForWriting: the CVE-2019-5736 form, the running
// executable opened for writing through /proc/self/exe, is reported
// whether the kernel refuses it (ETXTBSY) or not, with the argument as
// both path and OpenedAs when it failed.
func TestFileOpenProcExeForWriting(t *testing.T) {
	testenv.RequirePrivileged(t)
	w := watch(t, only(Config{}))
	// no O_TRUNC: should the kernel allow it, nothing is written
	g, err := os.OpenFile("/proc/self/exe", os.O_WRONLY, 0)
	if err == nil {
		g.Close()
	}
	ev := w.waitFor(t, "file_open_proc_exe", openedAs("/proc/self/exe"))
	switch {
	case errors.Is(err, syscall.ETXTBSY):
		if ev.Syscall.Error != "ETXTBSY" || ev.File.Path != "/proc/self/exe" || ev.File.PathSource != "argument" {
			t.Errorf("refused open: %+v %+v", ev.Syscall, ev.File)
		}
	case err == nil:
		exe, _ := os.Executable()
		if ev.Syscall.Ret < 0 || ev.File.PathSource != "kernel" || ev.File.Path != exe {
			t.Errorf("open: %+v %+v (executable %s)", ev.Syscall, ev.File, exe)
		}
	default:
		t.Fatalf("open /proc/self/exe for writing: %v", err)
	}
}
