package privilege

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
)

// TestUnshare: new net and uts namespaces, by flag.
func TestUnshare(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	flags := unix.CLONE_NEWNET | unix.CLONE_NEWUTS
	pid, _ := helper(t, "unshare", "0x44000000")
	ev := only(t, s.of(pid), event.KindNamespaceChange, 1)[0]
	wantSyscall(t, ev.ev, "unshare", 0, int64(flags))
	if ns := ev.ev.Namespace; !slices.Equal(ns.Types, []string{"net", "uts"}) || ns.Flags != uint64(flags) {
		t.Errorf("namespace = %+v, want net and uts, flags %#x", ns, flags)
	}
	seed(t, ev.raw)
}

// TestSetnsTypeFromDescriptor: setns with nstype 0 enters whatever the
// descriptor is; the kernel side reads which from the descriptor.
func TestSetnsTypeFromDescriptor(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	pid, _ := helper(t, "setns-self", "net")
	ev := only(t, s.of(pid), event.KindNamespaceChange, 1)[0]
	if sc := ev.ev.Syscall; sc.Name != "setns" || sc.Ret != 0 || len(sc.Args) != 2 || sc.Args[1] != 0 {
		t.Errorf("syscall = %+v, want setns(fd, 0) returning 0", sc)
	}
	if ns := ev.ev.Namespace; !slices.Equal(ns.Types, []string{"net"}) || ns.Flags != 0 {
		t.Errorf("namespace = %+v, want net from the descriptor, flags 0", ns)
	}
	seed(t, ev.raw)
}

// TestCloneIntoNewNamespace: a child started with CLONE_NEWUTS is a
// namespace change of the parent's (here the test's own) clone; a plain
// fork is not reported.
func TestCloneIntoNewNamespace(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("/bin/true").Run(); err != nil {
		t.Fatal(err)
	}
	recs := only(t, s.of(os.Getpid()), event.KindNamespaceChange, 1)
	ev := recs[0].ev
	if sc := ev.Syscall; (sc.Name != "clone" && sc.Name != "clone3") || sc.Ret != int64(cmd.Process.Pid) {
		t.Errorf("syscall = %+v, want clone or clone3 returning the child %d", sc, cmd.Process.Pid)
	}
	if ns := ev.Namespace; !slices.Equal(ns.Types, []string{"uts"}) || ns.Flags&unix.CLONE_NEWUTS == 0 {
		t.Errorf("namespace = %+v, want uts", ns)
	}
	seed(t, recs[0].raw)
}

// mountPoint is an empty directory for a helper to mount on, in its own
// mount namespace.
func mountPoint(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMountTmpfs: in a mount namespace of its own, a child makes / private,
// mounts a tmpfs on a directory it names relative to its working
// directory, and unmounts it: the target is reported absolute.
func TestMountTmpfs(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	dir := mountPoint(t)
	pid, _ := helper(t, "mount-tmpfs", dir, "vigil-src")
	recs := s.of(pid)

	ns := only(t, recs, event.KindNamespaceChange, 1)[0].ev
	if !slices.Equal(ns.Namespace.Types, []string{"mnt"}) {
		t.Errorf("unshare types = %v, want mnt", ns.Namespace.Types)
	}
	mounts := only(t, recs, event.KindMount, 2)
	private, tmpfs := mounts[0].ev, mounts[1].ev
	if m := private.Mount; m.Target != "/" || !slices.Equal(m.Flags, []string{"MS_REC", "MS_PRIVATE"}) {
		t.Errorf("first mount = %+v, want / made MS_REC|MS_PRIVATE", m)
	}
	wantSyscall(t, tmpfs, "mount", 0, unix.MS_NOSUID|unix.MS_NODEV)
	want := event.Mount{Source: "vigil-src", Target: dir, FSType: "tmpfs", Flags: []string{"MS_NOSUID", "MS_NODEV"}}
	if m := tmpfs.Mount; m.Source != want.Source || m.Target != want.Target || m.FSType != want.FSType || !slices.Equal(m.Flags, want.Flags) {
		t.Errorf("mount = %+v, want %+v", m, want)
	}
	um := only(t, recs, event.KindUmount, 1)[0]
	wantSyscall(t, um.ev, "umount2", 0, unix.MNT_DETACH)
	if m := um.ev.Mount; m.Target != dir || !slices.Equal(m.Flags, []string{"MNT_DETACH"}) {
		t.Errorf("umount = %+v, want %s with MNT_DETACH", m, dir)
	}
	seed(t, mounts[1].raw)
	seed(t, um.raw)
}

// TestMoveMount: the new mount API; source and filesystem come from the
// detached mount that move_mount attaches.
func TestMoveMount(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	dir := mountPoint(t)
	pid, _ := helper(t, "move-mount", dir, "vigil-fsmount")
	recs := only(t, s.of(pid), event.KindMount, 2) // the private / and the move
	ev := recs[1].ev
	wantSyscall(t, ev, "move_mount", 0)
	want := event.Mount{Source: "vigil-fsmount", Target: dir, FSType: "tmpfs", Flags: []string{"MOVE_MOUNT_F_EMPTY_PATH"}}
	if m := ev.Mount; m.Source != want.Source || m.Target != want.Target || m.FSType != want.FSType || !slices.Equal(m.Flags, want.Flags) {
		t.Errorf("mount = %+v, want %+v", m, want)
	}
	seed(t, recs[1].raw)
}

// TestPivotRoot: a tmpfs becomes the root of a child's mount namespace,
// with pivot_root(".", "old") from inside it; the paths are reported
// resolved against the directory the call started in (at its exit that
// directory is "/").
func TestPivotRoot(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	dir := mountPoint(t)
	pid, _ := helper(t, "pivot-root", dir)
	ev := only(t, s.of(pid), event.KindPivotRoot, 1)[0]
	wantSyscall(t, ev.ev, "pivot_root", 0)
	if m := ev.ev.Mount; m.Source != dir || m.Target != filepath.Join(dir, "old") {
		t.Errorf("pivot_root = %+v, want new root %s, old root put in %s/old", m, dir, dir)
	}
	seed(t, ev.raw)
}

// TestChroot: the new root as the kernel resolved it.
func TestChroot(t *testing.T) {
	s := startSession(t, ring.Scope{}, Options{})
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	pid, _ := helper(t, "chroot", link)
	ev := only(t, s.of(pid), event.KindChroot, 1)[0]
	wantSyscall(t, ev.ev, "chroot", 0)
	if ev.ev.File == nil || ev.ev.File.Path != dir {
		t.Errorf("file = %+v, want the symlink resolved to %s", ev.ev.File, dir)
	}
	seed(t, ev.raw)
}
