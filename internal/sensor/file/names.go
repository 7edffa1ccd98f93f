package file

// syscallNames names each enum file_syscall.
var syscallNames = map[fileFileSyscall]string{
	fileFileSyscallSYS_OPEN:          "open",
	fileFileSyscallSYS_OPENAT:        "openat",
	fileFileSyscallSYS_OPENAT2:       "openat2",
	fileFileSyscallSYS_CREAT:         "creat",
	fileFileSyscallSYS_UNLINK:        "unlink",
	fileFileSyscallSYS_UNLINKAT:      "unlinkat",
	fileFileSyscallSYS_RMDIR:         "rmdir",
	fileFileSyscallSYS_RENAME:        "rename",
	fileFileSyscallSYS_RENAMEAT:      "renameat",
	fileFileSyscallSYS_RENAMEAT2:     "renameat2",
	fileFileSyscallSYS_CHMOD:         "chmod",
	fileFileSyscallSYS_FCHMOD:        "fchmod",
	fileFileSyscallSYS_FCHMODAT:      "fchmodat",
	fileFileSyscallSYS_FCHMODAT2:     "fchmodat2",
	fileFileSyscallSYS_CHOWN:         "chown",
	fileFileSyscallSYS_FCHOWN:        "fchown",
	fileFileSyscallSYS_LCHOWN:        "lchown",
	fileFileSyscallSYS_FCHOWNAT:      "fchownat",
	fileFileSyscallSYS_LINK:          "link",
	fileFileSyscallSYS_LINKAT:        "linkat",
	fileFileSyscallSYS_SYMLINK:       "symlink",
	fileFileSyscallSYS_SYMLINKAT:     "symlinkat",
	fileFileSyscallSYS_TRUNCATE:      "truncate",
	fileFileSyscallSYS_FTRUNCATE:     "ftruncate",
	fileFileSyscallSYS_MKDIR:         "mkdir",
	fileFileSyscallSYS_MKDIRAT:       "mkdirat",
	fileFileSyscallSYS_MEMFD_CREATE:  "memfd_create",
	fileFileSyscallSYS_SETXATTR:      "setxattr",
	fileFileSyscallSYS_LSETXATTR:     "lsetxattr",
	fileFileSyscallSYS_FSETXATTR:     "fsetxattr",
	fileFileSyscallSYS_SETXATTRAT:    "setxattrat",
	fileFileSyscallSYS_REMOVEXATTR:   "removexattr",
	fileFileSyscallSYS_LREMOVEXATTR:  "lremovexattr",
	fileFileSyscallSYS_FREMOVEXATTR:  "fremovexattr",
	fileFileSyscallSYS_REMOVEXATTRAT: "removexattrat",
}

// xattrRemoves are the removexattr family.
var xattrRemoves = map[fileFileSyscall]bool{
	fileFileSyscallSYS_REMOVEXATTR: true, fileFileSyscallSYS_LREMOVEXATTR: true,
	fileFileSyscallSYS_FREMOVEXATTR: true, fileFileSyscallSYS_REMOVEXATTRAT: true,
}
