package compat

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

func int80(nr, a1, a2, a3 uintptr) uintptr

// Syscall makes ia32 system call nr with three 32-bit arguments and
// returns its result as the kernel's 32-bit return register holds it.
func Syscall(nr, a1, a2, a3 uint32) (int32, error) {
	return int32(int80(uintptr(nr), uintptr(a1), uintptr(a2), uintptr(a3))), nil
}

// LowMemory maps n bytes below 4 GiB, where a 32-bit pointer reaches.
func LowMemory(n int) ([]byte, error) {
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(n), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_32BIT)
	if err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(p), n), nil
}
