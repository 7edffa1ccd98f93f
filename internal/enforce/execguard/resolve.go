package execguard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// KernelDev converts a user-space dev_t (Stat_t.Dev) to the kernel's s_dev
// encoding, major<<20 | minor.
func KernelDev(dev uint64) uint32 {
	return unix.Major(dev)<<20 | unix.Minor(dev)
}

// Resolve names the file at path, symlinks followed, as the exec guard
// matches it. The key comes from the kernel's own view of the opened file
// (fdinfo's inode, and the s_dev of its mount in mountinfo), not from
// stat: on overlayfs and btrfs subvolumes stat reports a device other than
// the superblock's s_dev that the kernel program reads.
func Resolve(path string) (InodeKey, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return InodeKey{}, &os.PathError{Op: "resolve", Path: path, Err: err}
	}
	defer func() { _ = unix.Close(fd) }() // an O_PATH fd
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return InodeKey{}, &os.PathError{Op: "resolve", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return InodeKey{}, fmt.Errorf("resolve %s: not a regular file, so never executed", path)
	}
	key, err := fdKey(fd, "/proc/self/mountinfo")
	if err != nil {
		return InodeKey{}, fmt.Errorf("resolve %s: %w", path, err)
	}
	return key, nil
}

// fdKey is the kernel's (s_dev, i_ino) of an open file of this process;
// mountinfo must list the file's mount (that of the process whose mount
// namespace the file was opened through).
func fdKey(fd int, mountinfo string) (InodeKey, error) {
	info, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		return InodeKey{}, err
	}
	mnt, ino, err := parseFdinfo(info)
	if err != nil {
		return InodeKey{}, err
	}
	mi, err := os.ReadFile(mountinfo)
	if err != nil {
		return InodeKey{}, err
	}
	dev, err := mountDev(mi, mnt)
	if err != nil {
		return InodeKey{}, err
	}
	return InodeKey{Ino: ino, Dev: dev}, nil
}

// parseFdinfo reads mnt_id and ino from /proc/PID/fdinfo/FD.
func parseFdinfo(info []byte) (mnt int, ino uint64, err error) {
	var haveMnt, haveIno bool
	sc := bufio.NewScanner(bytes.NewReader(info))
	for sc.Scan() {
		name, value, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch string(name) {
		case "mnt_id":
			mnt, err = strconv.Atoi(string(value))
			haveMnt = err == nil
		case "ino":
			ino, err = strconv.ParseUint(string(value), 10, 64)
			haveIno = err == nil
		}
		if err != nil {
			return 0, 0, fmt.Errorf("fdinfo %s: %w", name, err)
		}
	}
	if !haveMnt || !haveIno {
		return 0, 0, errors.New("fdinfo lacks mnt_id or ino")
	}
	return mnt, ino, nil
}

// mountDev finds the mount mnt in mountinfo and returns its superblock's
// device (field 3, major:minor) in the kernel's encoding.
func mountDev(mountinfo []byte, mnt int) (uint32, error) {
	want := []byte(strconv.Itoa(mnt))
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 3 || !bytes.Equal(f[0], want) {
			continue
		}
		maj, min, ok := bytes.Cut(f[2], []byte(":"))
		if !ok {
			return 0, fmt.Errorf("mountinfo: mount %d: device %q", mnt, f[2])
		}
		ma, err1 := strconv.ParseUint(string(maj), 10, 32)
		mi, err2 := strconv.ParseUint(string(min), 10, 32)
		if err := errors.Join(err1, err2); err != nil || ma >= 1<<12 || mi >= 1<<20 {
			return 0, fmt.Errorf("mountinfo: mount %d: device %q", mnt, f[2])
		}
		return uint32(ma)<<20 | uint32(mi), nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("mountinfo: %w", err)
	}
	return 0, fmt.Errorf("mountinfo: no mount %d", mnt)
}
