package file

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestFileOpenRacerCannotSwapThePath is CVE-2021-33505's attack: one
// thread flips the path buffer between a watched and an unwatched file
// while another opens it. The kernel copies the path at some moment we do
// not see; the sensor reports the file behind the returned descriptor, so
// every open of the watched file is reported, under its own name, and no
// open of the other is.
func TestFileOpenRacerCannotSwapThePath(t *testing.T) {
	const opens = 20000
	dir := tempDir(t)
	for _, d := range []string{"w", "u"} { // watched, unwatched: same length
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		mkfile(t, filepath.Join(dir, d, "secret"), 0o644)
	}
	secret := filepath.Join(dir, "w", "secret")
	secretIno := mustStat(t, secret).Ino
	w := watch(t, only(Config{Watch: []string{filepath.Join(dir, "w")}}))

	dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	// the path lives outside the Go heap, where both threads see one copy
	buf, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(buf)
	copy(buf, "w/secret\x00")

	var stop atomic.Bool
	var flipper sync.WaitGroup
	flipper.Add(1)
	go func() {
		defer flipper.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := 0; !stop.Load(); i++ {
			if i&1 == 0 {
				buf[0] = 'u'
			} else {
				buf[0] = 'w'
			}
		}
	}()

	var opened []bool // per open: did it open the watched file?
	tid := onThread(func() {
		for i := 0; i < opens; i++ {
			fd, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&buf[0])),
				unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
			if e != 0 {
				t.Errorf("openat: %v", e)
				return
			}
			var st unix.Stat_t
			if err := unix.Fstat(int(fd), &st); err != nil {
				t.Errorf("fstat: %v", err)
			}
			opened = append(opened, st.Ino == secretIno)
			unix.Close(int(fd))
		}
	})
	stop.Store(true)
	flipper.Wait()
	w.stop() // every record is in now

	watched := 0
	for _, o := range opened {
		if o {
			watched++
		}
	}
	if watched == 0 || watched == len(opened) {
		t.Fatalf("%d of %d opens hit the watched file: the race never happened", watched, len(opened))
	}
	events := w.find(func(ev *event.Event) bool {
		return ev.Kind == event.KindFileOpen && ev.Process.TID == tid
	})
	if len(events) != watched {
		t.Errorf("%d file_open events for %d opens of the watched file", len(events), watched)
	}
	for _, r := range events {
		if r.ev.File.Path != secret || r.ev.File.Inode != secretIno {
			t.Fatalf("reported %q (inode %d), but only %q (inode %d) is watched", r.ev.File.Path, r.ev.File.Inode, secret, secretIno)
		}
	}
	if len(events) > 0 {
		capture(t, "file_open_raced", events[0].raw)
	}
	t.Logf("%d opens, %d of the watched file, %d reported", len(opened), watched, len(events))
}
