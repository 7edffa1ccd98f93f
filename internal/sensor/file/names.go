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
