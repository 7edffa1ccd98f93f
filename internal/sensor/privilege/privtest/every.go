package privtest

import (
	"fmt"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// everyKind makes args[0] calls of each kind the sensor reports, each
// harmless (most fail) and each reported exactly once: a count for
// tests that check delivered + dropped == produced, kind by kind.
func everyKind(args []string) error {
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	missing, _ := unix.BytePtrFromString("/nonexistent-vigil-privtest")
	tmpfs, _ := unix.BytePtrFromString("tmpfs")
	module, _ := unix.BytePtrFromString("vigil_privtest")
	empty, _ := unix.BytePtrFromString("")
	var attr [128]byte // an empty BPF_PROG_LOAD: EINVAL
	buf := make([]byte, 8)
	local := unix.Iovec{Base: &buf[0]}
	local.SetLen(len(buf))
	remote := unix.RemoteIovec{Base: uintptr(unsafe.Pointer(&buf[0])), Len: len(buf)}
	self := uintptr(unix.Getpid())
	const badFD = ^uintptr(0)
	const noSuchPID = 1 << 30 // above any pid_max

	for i := 0; i < n; i++ {
		unix.RawSyscall(unix.SYS_SETRESUID, unchanged, unchanged, unchanged)
		unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_ATTACH, noSuchPID, 0, 0, 0, 0)
		unix.RawSyscall6(unix.SYS_PROCESS_VM_WRITEV, self, uintptr(unsafe.Pointer(&local)), 1,
			uintptr(unsafe.Pointer(&remote)), 1, 0)
		unix.RawSyscall(unix.SYS_SETNS, badFD, 0, 0)
		unix.RawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(tmpfs)), uintptr(unsafe.Pointer(missing)),
			uintptr(unsafe.Pointer(tmpfs)), 0, 0, 0)
		unix.RawSyscall(unix.SYS_UMOUNT2, uintptr(unsafe.Pointer(missing)), 0, 0)
		unix.RawSyscall(unix.SYS_CHROOT, uintptr(unsafe.Pointer(missing)), 0, 0)
		unix.RawSyscall(unix.SYS_PIVOT_ROOT, uintptr(unsafe.Pointer(missing)), uintptr(unsafe.Pointer(missing)), 0)
		unix.RawSyscall(unix.SYS_INIT_MODULE, 0, 0, uintptr(unsafe.Pointer(empty)))
		unix.RawSyscall(unix.SYS_DELETE_MODULE, uintptr(unsafe.Pointer(module)), unix.O_NONBLOCK, 0)
		unix.RawSyscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr[0])), uintptr(len(attr)))
		unix.RawSyscall6(unix.SYS_KEXEC_LOAD, 0, 1000, 0, 0, 0, 0)
		if fd, _, e := unix.RawSyscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC, 0, 0); e == 0 {
			unix.Close(int(fd))
		}
		unix.RawSyscall(unix.SYS_PERSONALITY, 0, 0, 0) // PER_LINUX, a set, not a query
	}
	runtime.KeepAlive(missing)
	runtime.KeepAlive(tmpfs)
	runtime.KeepAlive(module)
	runtime.KeepAlive(empty)
	runtime.KeepAlive(&attr)
	runtime.KeepAlive(buf)
	runtime.KeepAlive(&local)
	runtime.KeepAlive(&remote)
	fmt.Println("ok")
	return nil
}
