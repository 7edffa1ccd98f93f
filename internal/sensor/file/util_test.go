package file

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func unsafePtr(b *byte) unsafe.Pointer { return unsafe.Pointer(b) }

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// sys makes the raw system call nr, so that a test exercises exactly the
// call it names (the unix package maps some onto their *at forms). Strings
// are passed as C strings, ints as numbers.
func sys(nr uintptr, args ...any) (uintptr, error) {
	var a [6]uintptr
	var keep [][]byte
	for i, v := range args {
		switch v := v.(type) {
		case string:
			b := append([]byte(v), 0)
			keep = append(keep, b)
			a[i] = uintptr(unsafe.Pointer(&b[0]))
		case int:
			a[i] = uintptr(v)
		default:
			panic(fmt.Sprintf("sys: argument %d of type %T", i, v))
		}
	}
	r, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	runtime.KeepAlive(keep)
	return r, errnoErr(e)
}
