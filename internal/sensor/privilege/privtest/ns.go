package privtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// unshareNS unshares the namespaces args[0] (CLONE_NEW* flags) from this
// thread.
func unshareNS(args []string) error {
	flags, err := strconv.ParseUint(args[0], 0, 64)
	if err != nil {
		return err
	}
	if err := unix.Unshare(int(flags)); err != nil {
		return fmt.Errorf("unshare(%#x): %w", flags, err)
	}
	fmt.Println("ok")
	return nil
}

// setnsSelf enters this process's own namespace args[0] ("net", …)
// through /proc/self/ns with nstype 0: the type comes from the descriptor.
func setnsSelf(args []string) error {
	fd, err := unix.Open("/proc/self/ns/"+args[0], unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, 0); err != nil {
		return fmt.Errorf("setns(%s, 0): %w", args[0], err)
	}
	fmt.Println("ok")
	return nil
}

// privateMounts gives this thread a mount namespace of its own whose
// mounts do not propagate back to the host's.
func privateMounts() error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNS): %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	return nil
}

// mountTmpfs mounts a tmpfs named args[1] on the directory args[0],
// given relative to its parent (the working directory, of this thread
// only once the mount namespace is unshared), then unmounts it.
func mountTmpfs(args []string) error {
	dir, source := args[0], args[1]
	if err := privateMounts(); err != nil {
		return err
	}
	if err := unix.Chdir(filepath.Dir(dir)); err != nil {
		return err
	}
	rel := filepath.Base(dir)
	if err := unix.Mount(source, rel, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	if err := unix.Unmount(rel, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("umount %s: %w", dir, err)
	}
	fmt.Println("ok")
	return nil
}

// moveMount mounts a tmpfs on args[0] the new way: fsopen, fsconfig,
// fsmount, then move_mount of the detached mount.
func moveMount(args []string) error {
	if err := privateMounts(); err != nil {
		return err
	}
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen: %w", err)
	}
	defer unix.Close(fs)
	if err := unix.FsconfigSetString(fs, "source", args[1]); err != nil {
		return fmt.Errorf("fsconfig source: %w", err)
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return fmt.Errorf("fsconfig create: %w", err)
	}
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fsmount: %w", err)
	}
	defer unix.Close(mnt)
	if err := unix.MoveMount(mnt, "", unix.AT_FDCWD, args[0], unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount to %s: %w", args[0], err)
	}
	fmt.Println("ok")
	return nil
}

// pivotRoot makes a tmpfs on args[0] the root of a mount namespace of its
// own, the old root going to args[0]/old, the way container runtimes do
// it: from inside the new root, with relative paths.
func pivotRoot(args []string) error {
	dir := args[0]
	if err := privateMounts(); err != nil {
		return err
	}
	if err := unix.Mount("vigil-pivot", dir, "tmpfs", 0, "size=1m"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	old := filepath.Join(dir, "old")
	if err := os.Mkdir(old, 0o700); err != nil {
		return err
	}
	if err := unix.Chdir(dir); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "old"); err != nil {
		return fmt.Errorf("pivot_root(., old) in %s: %w", dir, err)
	}
	fmt.Println("ok")
	return nil
}

// chrootTo makes args[0] the process's root directory.
func chrootTo(args []string) error {
	if err := unix.Chroot(args[0]); err != nil {
		return fmt.Errorf("chroot %s: %w", args[0], err)
	}
	fmt.Println("ok")
	return nil
}
