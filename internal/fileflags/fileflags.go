// Package fileflags names the flags of file system calls as events carry
// them: open(2), the *at(2) calls, renameat2(2) and memfd_create(2). The
// file sensor's events and the file guard's enforcement records both spell
// flags this way, so the names live here, in neither.
package fileflags

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Open flags as the kernel numbers them (asm-generic/fcntl.h, which x86
// and arm64 use).
const (
	OAccMode = 0o3
	OCreat   = 0o100
	OExcl    = 0o200
	ONoctty  = 0o400
	OTrunc   = 0o1000
	OPath    = 0o10000000
	OTmpfile = 0o20000000 | 0o200000 // __O_TMPFILE | O_DIRECTORY
)

// flagName is one bit (or set of bits) of a flags word and its name.
type flagName struct {
	bits uint32
	name string
}

// Composite flags come before their parts.
var openFlags = []flagName{
	{OTmpfile, "O_TMPFILE"},
	{0o4000000 | 0o10000, "O_SYNC"}, // __O_SYNC | O_DSYNC
	{OCreat, "O_CREAT"},
	{OExcl, "O_EXCL"},
	{ONoctty, "O_NOCTTY"},
	{OTrunc, "O_TRUNC"},
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
	{OPath, "O_PATH"},
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
func names(flags uint32, table []flagName) []string { return appendNames(nil, flags, table) }

// appendNames appends the names of flags to out.
func appendNames(out []string, flags uint32, table []flagName) []string {
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

// Open spells out open(2) flags: the access mode first (none for O_PATH,
// which ignores it), then each flag, unnamed bits as one hex number.
func Open(flags uint32) []string {
	// one allocation per call: the access mode and room for three flags
	return AppendOpen(make([]string, 0, 4), flags)
}

// AppendOpen appends what Open says of flags to out, which the caller may
// have allocated along with the object the flags belong to.
func AppendOpen(out []string, flags uint32) []string {
	mode := "O_RDONLY"
	switch flags & OAccMode {
	case 1:
		mode = "O_WRONLY"
	case 2:
		mode = "O_RDWR"
	case 3:
		mode = "O_ACCMODE"
	}
	if flags&OPath != 0 {
		return appendNames(out, flags&^OAccMode, openFlags)
	}
	return appendNames(append(out, mode), flags&^OAccMode, openFlags)
}

// At spells out the AT_* flags of the *at(2) calls.
func At(flags uint32) []string { return names(flags, atFlags) }

// Rename spells out renameat2(2)'s RENAME_* flags.
func Rename(flags uint32) []string { return names(flags, renameFlags) }

// Memfd spells out memfd_create(2)'s MFD_* flags.
func Memfd(flags uint32) []string { return names(flags, memfdFlags) }

// xattrFlags are setxattr(2)'s (linux/xattr.h).
var xattrFlags = []flagName{{0x1, "XATTR_CREATE"}, {0x2, "XATTR_REPLACE"}}

// Xattr names setxattr(2)'s flags.
func Xattr(flags uint32) []string { return names(flags, xattrFlags) }
