package file

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// syscallNames names each enum file_syscall.
var syscallNames = map[fileFileSyscall]string{
	fileFileSyscallSYS_OPEN:         "open",
	fileFileSyscallSYS_OPENAT:       "openat",
	fileFileSyscallSYS_OPENAT2:      "openat2",
	fileFileSyscallSYS_CREAT:        "creat",
	fileFileSyscallSYS_UNLINK:       "unlink",
	fileFileSyscallSYS_UNLINKAT:     "unlinkat",
	fileFileSyscallSYS_RMDIR:        "rmdir",
	fileFileSyscallSYS_RENAME:       "rename",
	fileFileSyscallSYS_RENAMEAT:     "renameat",
	fileFileSyscallSYS_RENAMEAT2:    "renameat2",
	fileFileSyscallSYS_CHMOD:        "chmod",
	fileFileSyscallSYS_FCHMOD:       "fchmod",
	fileFileSyscallSYS_FCHMODAT:     "fchmodat",
	fileFileSyscallSYS_FCHMODAT2:    "fchmodat2",
	fileFileSyscallSYS_CHOWN:        "chown",
	fileFileSyscallSYS_FCHOWN:       "fchown",
	fileFileSyscallSYS_LCHOWN:       "lchown",
	fileFileSyscallSYS_FCHOWNAT:     "fchownat",
	fileFileSyscallSYS_LINK:         "link",
	fileFileSyscallSYS_LINKAT:       "linkat",
	fileFileSyscallSYS_SYMLINK:      "symlink",
	fileFileSyscallSYS_SYMLINKAT:    "symlinkat",
	fileFileSyscallSYS_TRUNCATE:     "truncate",
	fileFileSyscallSYS_FTRUNCATE:    "ftruncate",
	fileFileSyscallSYS_MKDIR:        "mkdir",
	fileFileSyscallSYS_MKDIRAT:      "mkdirat",
	fileFileSyscallSYS_MEMFD_CREATE: "memfd_create",
}

// flagName is one bit (or set of bits) of a flags word and its name.
type flagName struct {
	bits uint32
	name string
}

// Open flags as the kernel numbers them (asm-generic/fcntl.h, which x86
// uses). Composite flags come before their parts.
const (
	oAccMode = 0o3
	oCreat   = 0o100
	oTmpfile = 0o20000000 | 0o200000 // __O_TMPFILE | O_DIRECTORY
)

var openFlags = []flagName{
	{oTmpfile, "O_TMPFILE"},
	{0o4000000 | 0o10000, "O_SYNC"}, // __O_SYNC | O_DSYNC
	{0o100, "O_CREAT"},
	{0o200, "O_EXCL"},
	{0o400, "O_NOCTTY"},
	{0o1000, "O_TRUNC"},
	{0o2000, "O_APPEND"},
	{0o4000, "O_NONBLOCK"},
	{0o10000, "O_DSYNC"},
	{0o20000, "O_ASYNC"},
	{0o40000, "O_DIRECT"},
	{0o100000, "O_LARGEFILE"},
	{0o200000, "O_DIRECTORY"},
	{0o400000, "O_NOFOLLOW"},
	{0o1000000, "O_NOATIME"},
	{0o2000000, "O_CLOEXEC"},
	{0o10000000, "O_PATH"},
}

var atFlags = []flagName{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"},
	{unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
	{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"},
	{unix.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"},
}

var renameFlags = []flagName{
	{unix.RENAME_NOREPLACE, "RENAME_NOREPLACE"},
	{unix.RENAME_EXCHANGE, "RENAME_EXCHANGE"},
	{unix.RENAME_WHITEOUT, "RENAME_WHITEOUT"},
}

var memfdFlags = []flagName{
	{unix.MFD_CLOEXEC, "MFD_CLOEXEC"},
	{unix.MFD_ALLOW_SEALING, "MFD_ALLOW_SEALING"},
	{unix.MFD_HUGETLB, "MFD_HUGETLB"},
	{0x8, "MFD_NOEXEC_SEAL"},
	{0x10, "MFD_EXEC"},
}

// names spells out flags; bits it has no name for are kept as one hex
// number, so nothing the caller passed is lost.
func names(flags uint32, table []flagName) []string {
	var out []string
	for _, f := range table {
		if flags&f.bits == f.bits {
			out = append(out, f.name)
			flags &^= f.bits
		}
	}
	if flags != 0 {
		out = append(out, fmt.Sprintf("0x%x", flags))
	}
	return out
}

// OpenFlagNames spells out open(2) flags as events carry them: the access
// mode first (none for O_PATH), then each flag, unnamed bits as one hex
// number. The enforcement records of opens use it too.
func OpenFlagNames(flags uint32) []string { return openFlagNames(flags) }

// openFlagNames always starts with the access mode.
func openFlagNames(flags uint32) []string {
	mode := "O_RDONLY"
	switch flags & oAccMode {
	case 1:
		mode = "O_WRONLY"
	case 2:
		mode = "O_RDWR"
	case 3:
		mode = "O_ACCMODE"
	}
	if flags&0o10000000 != 0 { // O_PATH ignores the access mode
		return names(flags&^oAccMode, openFlags)
	}
	return append([]string{mode}, names(flags&^oAccMode, openFlags)...)
}

// errnoName names -ret ("ENOENT"), or "" when ret is not an error.
func errnoName(ret int64) string {
	if ret >= 0 {
		return ""
	}
	if name := unix.ErrnoName(syscall.Errno(-ret)); name != "" {
		return name
	}
	return fmt.Sprintf("errno %d", -ret)
}
