package wire

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// maxErrno is the kernel's MAX_ERRNO: a syscall's return value in
// [-maxErrno, -1] is an error, anything lower is a value (an address).
const maxErrno = 4095

// ErrnoName names the errno of a syscall's negative return value
// ("EPERM"), "errno <n>" for one unix does not name, and "" for a value
// that is not an error.
func ErrnoName(ret int64) string {
	if ret >= 0 || ret < -maxErrno {
		return ""
	}
	if name := unix.ErrnoName(unix.Errno(-ret)); name != "" {
		return name
	}
	return fmt.Sprintf("errno %d", -ret)
}
