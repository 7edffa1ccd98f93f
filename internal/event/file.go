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
}
