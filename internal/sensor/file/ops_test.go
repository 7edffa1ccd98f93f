package file

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestFileNewOps: what the file_writes, delete_dirs and setid_dirs lists
// keep, and what they leave in the kernel.
func TestFileNewOps(t *testing.T) {
	files, dels, other := tempDir(t), tempDir(t), tempDir(t)
	w := watch(t, only(Config{FileWrites: []string{files}, DeleteDirs: []string{dels}, SetidDirs: []string{"/"},
		Components: []string{"mem"}}))
	p := func(dir, n string) string { return filepath.Join(dir, n) }

	// file_writes: a regular file made is reported, a fifo opened for
	// writing is not
	mkfile(t, p(files, "made"), 0o644)
	if err := unix.Mkfifo(p(files, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fd, err := unix.Open(p(files, "fifo"), unix.O_RDWR|unix.O_CLOEXEC, 0); err != nil {
		t.Fatal(err)
	} else {
		unix.Close(fd)
	}
	// delete_dirs: removals only, not the write that made the file
	mkfile(t, p(dels, "payload"), 0o644)
	mustSys(t, "unlink", unix.SYS_UNLINK, p(dels, "payload"))
	// setid_dirs "/": u+s without any x bit, in a directory nothing else watches
	mkfile(t, p(other, "noexec"), 0o644)
	mustSys(t, "fchmodat", unix.SYS_FCHMODAT, unix.AT_FDCWD, p(other, "noexec"), 0o4644)
	mustSys(t, "fchmodat", unix.SYS_FCHMODAT, unix.AT_FDCWD, p(other, "noexec"), 0o600)
	// the "mem" component: /proc/PID/mem
	mem := fmt.Sprintf("/proc/%d/mem", os.Getpid())
	if fd, err := unix.Open(mem, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		t.Fatal(err)
	} else {
		unix.Close(fd)
	}

	w.waitFor(t, "file_open_file_writes", at(event.KindFileOpen, p(files, "made")))
	w.waitFor(t, "file_unlink_delete_dirs", at(event.KindFileUnlink, p(dels, "payload")))
	ev := w.waitFor(t, "file_chmod_setuid_no_x", at(event.KindFileChmod, p(other, "noexec")))
	if !ev.File.Setuid || ev.File.Mode != 0o4644 {
		t.Errorf("setuid chmod: %+v", ev.File)
	}
	w.waitFor(t, "file_open_proc_mem", at(event.KindFileOpen, mem))
	w.none(t, "fifo write", at(event.KindFileOpen, p(files, "fifo")))
	w.none(t, "write in a delete dir", at(event.KindFileOpen, p(dels, "payload")))
	w.none(t, "chmod without setid bits", func(ev *event.Event) bool {
		return at(event.KindFileChmod, p(other, "noexec"))(ev) && ev.File.Mode == 0o600
	})
}
