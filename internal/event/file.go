package event

// File is what a file event acted on.
type File struct {
	// Path is absolute, taken from the kernel's own objects where the
	// kernel has resolved it (at syscall exit), not from user memory.
	Path string `json:"path"`
	// Flags are the open flags by name ("O_WRONLY", "O_CREAT", …).
	Flags []string `json:"flags,omitempty"`
	// Mode is the permission bits given (open with O_CREAT, chmod, mkdir).
	Mode uint32 `json:"mode,omitempty"`
	// Setuid and Setgid say whether a chmod sets those bits.
	Setuid bool `json:"setuid,omitempty"`
	Setgid bool `json:"setgid,omitempty"`
	// NewPath is the destination of a rename or the new name of a link.
	NewPath string `json:"new_path,omitempty"`
	// Target is what a symlink points at, as written.
	Target string `json:"target,omitempty"`
	// UID and GID are the new owner of a chown; absent when unchanged.
	UID *uint32 `json:"uid,omitempty"`
	GID *uint32 `json:"gid,omitempty"`
	// Name is a memfd's name.
	Name string `json:"name,omitempty"`
	// Inode and Dev identify the file when the kernel had it at hand.
	Inode uint64 `json:"inode,omitempty"`
	Dev   uint32 `json:"dev,omitempty"`
	// PathSource says where Path came from: "kernel" (the kernel's own
	// file, e.g. the one an open returned) or "argument" (the syscall's
	// argument, made absolute against the kernel's cwd or dirfd path).
	// NewPath is always an argument.
	PathSource string `json:"path_source,omitempty"`
	// Truncated names the fields the kernel had to cut ("path", …).
	Truncated []string `json:"truncated,omitempty"`
	// AliasOf is the watched file Path is another name of (a hard link,
	// a bind mount of its directory), recognised by device and inode: as
	// the watch list names it ("/etc/shadow").
	AliasOf string `json:"alias_of,omitempty"`
	// OpenedAs is, for an open for writing through a /proc magic link
	// (/proc/self/exe, /proc/PID/fd/N), the path argument as given; Path
	// is the file the link reached (the argument, when the open failed).
	OpenedAs string `json:"opened_as,omitempty"`
	// Xattr is the extended attribute a file_xattr event set or removed.
	Xattr *Xattr `json:"xattr,omitempty"`
}

// Xattr is an extended attribute change.
type Xattr struct {
	// Op is "set" (setxattr family) or "remove" (removexattr family).
	Op string `json:"op"`
	// Name is the attribute's name ("security.capability").
	Name string `json:"name"`
	// Size is the value's size as passed to a set.
	Size uint32 `json:"size,omitempty"`
	// Flags are a set's XATTR_CREATE / XATTR_REPLACE.
	Flags []string `json:"flags,omitempty"`
	// Caps is a security.capability value, decoded.
	Caps *FileCaps `json:"caps,omitempty"`
}

// FileCaps are the capabilities a file's security.capability grants at
// exec.
type FileCaps struct {
	// Version is the value's revision, 1 to 3.
	Version int `json:"version"`
	// Permitted and Inheritable are the file's sets, by name.
	Permitted   []string `json:"permitted"`
	Inheritable []string `json:"inheritable"`
	// Effective is the effective flag ("+e"): the permitted set is raised
	// at exec.
	Effective bool `json:"effective"`
	// RootID is the uid of the user namespace root the capabilities apply
	// for (version 3).
	RootID *uint32 `json:"rootid,omitempty"`
}
