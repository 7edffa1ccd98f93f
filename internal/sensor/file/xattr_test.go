package file

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// x86-64 numbers of the *xattrat calls (Linux 6.13); x/sys/unix has none.
const (
	sysSetxattrat    = 463
	sysRemovexattrat = 466
)

// capValue is a security.capability value of revision 2: permitted and
// inheritable sets, the effective flag.
func capValue(permitted, inheritable uint64, effective bool) []byte {
	v := make([]byte, 20)
	magic := uint32(0x02000000)
	if effective {
		magic |= 1
	}
	le := binary.LittleEndian
	le.PutUint32(v, magic)
	le.PutUint32(v[4:], uint32(permitted))
	le.PutUint32(v[8:], uint32(inheritable))
	le.PutUint32(v[12:], uint32(permitted>>32))
	le.PutUint32(v[16:], uint32(inheritable>>32))
	return v
}

// xattrAt matches file_xattr events about path, name and syscall.
func xattrAt(path, name, syscall string) func(*event.Event) bool {
	return func(ev *event.Event) bool {
		return ev.Kind == event.KindFileXattr && ev.File.Path == path && ev.File.Xattr != nil &&
			ev.File.Xattr.Name == name && ev.Syscall.Name == syscall
	}
}

// xattrSetup loads the sensor with the default xattr prefixes and no
// watched path, and makes a file to change.
func xattrSetup(t *testing.T, name string) (w *watcher, dir, f string) {
	t.Helper()
	testenv.RequirePrivileged(t)
	dir = tempDir(t)
	w = watch(t, only(Config{}))
	f = filepath.Join(dir, name)
	mkfile(t, f, 0o755)
	return w, dir, f
}

func TestFileXattrCapabilities(t *testing.T) {
	w, _, f := xattrSetup(t, "v17f-cap")

	// user.* stays in the kernel; a setuid capability, set then removed,
	// comes out decoded
	if err := unix.Setxattr(f, "user.v17f", []byte("chatter"), 0); err != nil {
		t.Fatalf("setxattr user.v17f: %v", err)
	}
	const setuid, netRaw = 1 << 7, 1 << 13
	if err := unix.Setxattr(f, "security.capability", capValue(setuid|netRaw, 0, true), 0); err != nil {
		t.Fatalf("setxattr security.capability: %v", err)
	}
	ev := w.waitFor(t, "file_xattr_setxattr", xattrAt(f, "security.capability", "setxattr"))
	x := ev.File.Xattr
	if x.Op != "set" || x.Size != 20 || x.Caps == nil {
		t.Fatalf("xattr %+v, want a set of 20 bytes with caps", x)
	}
	if c := x.Caps; c.Version != 2 || !c.Effective || !slices.Equal(c.Permitted, []string{"CAP_SETUID", "CAP_NET_RAW"}) ||
		len(c.Inheritable) != 0 || c.RootID != nil {
		t.Errorf("caps %+v, want v2 CAP_SETUID,CAP_NET_RAW+ep", c)
	}
	if ev.File.PathSource != "argument" || ev.Syscall.Ret != 0 {
		t.Errorf("path source %q, syscall %+v", ev.File.PathSource, ev.Syscall)
	}

	if err := unix.Removexattr(f, "security.capability"); err != nil {
		t.Fatalf("removexattr: %v", err)
	}
	rm := w.waitFor(t, "file_xattr_removexattr", xattrAt(f, "security.capability", "removexattr"))
	if rm.File.Xattr.Op != "remove" || rm.File.Xattr.Caps != nil {
		t.Errorf("remove: %+v", rm.File.Xattr)
	}
	w.none(t, "user.* xattr", func(ev *event.Event) bool {
		return ev.Kind == event.KindFileXattr && ev.File.Xattr.Name == "user.v17f"
	})
}

func TestFileXattrEverySyscall(t *testing.T) {
	w, dir, f := xattrSetup(t, "v17f-x")
	fd, err := unix.Open(f, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)

	val := []byte("v")
	if err := unix.Lsetxattr(f, "trusted.v17f.l", val, unix.XATTR_CREATE); err != nil {
		t.Fatalf("lsetxattr: %v", err)
	}
	if err := unix.Fsetxattr(fd, "trusted.v17f.f", val, 0); err != nil {
		t.Fatalf("fsetxattr: %v", err)
	}
	name, _ := unix.BytePtrFromString("trusted.v17f.at")
	rel, _ := unix.BytePtrFromString("v17f-x")
	args := struct {
		value       uint64
		size, flags uint32
	}{uint64(uintptr(unsafe.Pointer(&val[0]))), 1, 0}
	_, _, e := unix.Syscall6(sysSetxattrat, uintptr(dfd), uintptr(unsafe.Pointer(rel)), 0,
		uintptr(unsafe.Pointer(name)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
	if e != 0 {
		t.Fatalf("setxattrat: %v", e)
	}
	if err := unix.Lremovexattr(f, "trusted.v17f.l"); err != nil {
		t.Fatalf("lremovexattr: %v", err)
	}
	if err := unix.Fremovexattr(fd, "trusted.v17f.f"); err != nil {
		t.Fatalf("fremovexattr: %v", err)
	}
	_, _, e = unix.Syscall6(sysRemovexattrat, uintptr(dfd), uintptr(unsafe.Pointer(rel)), 0,
		uintptr(unsafe.Pointer(name)), 0, 0)
	if e != 0 {
		t.Fatalf("removexattrat: %v", e)
	}
	// a failed set is reported too, with its error
	if err := unix.Setxattr(filepath.Join(dir, "gone"), "security.v17f", val, 0); err != unix.ENOENT {
		t.Fatalf("setxattr of a missing file: %v", err)
	}

	for _, c := range []struct{ name, syscall, path string }{
		{"trusted.v17f.l", "lsetxattr", f}, {"trusted.v17f.f", "fsetxattr", f},
		{"trusted.v17f.at", "setxattrat", f}, {"trusted.v17f.l", "lremovexattr", f},
		{"trusted.v17f.f", "fremovexattr", f}, {"trusted.v17f.at", "removexattrat", f},
		{"security.v17f", "setxattr", filepath.Join(dir, "gone")},
	} {
		ev := w.waitFor(t, "file_xattr_"+c.syscall, xattrAt(c.path, c.name, c.syscall))
		if ev.Process.PID != uint32(os.Getpid()) {
			t.Errorf("%s: pid %d", c.syscall, ev.Process.PID)
		}
		switch c.syscall {
		case "lsetxattr":
			if !slices.Equal(ev.File.Xattr.Flags, []string{"XATTR_CREATE"}) || ev.File.Xattr.Size != 1 {
				t.Errorf("lsetxattr: %+v", ev.File.Xattr)
			}
		case "fsetxattr":
			if ev.File.PathSource != "kernel" || ev.File.Inode == 0 {
				t.Errorf("fsetxattr: path source %q, inode %d", ev.File.PathSource, ev.File.Inode)
			}
		case "setxattr":
			if ev.Syscall.Error != "ENOENT" {
				t.Errorf("failed setxattr: %+v", ev.Syscall)
			}
		}
	}
}

// TestFileXattrSetcap runs the real setcap(8): `setcap cap_setuid+ep`.
func TestFileXattrSetcap(t *testing.T) {
	setcap, err := exec.LookPath("setcap")
	if err != nil {
		testenv.Unavailable(t, "setcap not installed (Debian package libcap2-bin; scripts/test-deps.sh installs it)")
	}
	w, _, f := xattrSetup(t, "v17f-setcap")
	if out, err := exec.Command(setcap, "cap_setuid+ep", f).CombinedOutput(); err != nil {
		t.Fatalf("setcap: %v: %s", err, out)
	}
	ev := w.waitFor(t, "file_xattr_setcap", func(ev *event.Event) bool {
		return ev.Kind == event.KindFileXattr && ev.File.Path == f && ev.File.Xattr.Caps != nil
	})
	c := ev.File.Xattr.Caps
	if !c.Effective || !slices.Equal(c.Permitted, []string{"CAP_SETUID"}) {
		t.Errorf("setcap cap_setuid+ep: caps %+v", c)
	}
}
