package privtest

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// unchanged is (uid_t)-1 as C passes it: 32 bits, zero-extended.
const unchanged = uintptr(^uint32(0))

// setresuidAndBack sets this thread's effective uid to args[0], then back
// to 0: two privilege changes, both allowed to root.
func setresuidAndBack(args []string) error {
	euid, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, unchanged, uintptr(euid), unchanged); e != 0 {
		return fmt.Errorf("setresuid(-1, %d, -1): %w", euid, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, unchanged, 0, unchanged); e != 0 {
		return fmt.Errorf("setresuid(-1, 0, -1): %w", e)
	}
	fmt.Println("ok")
	return nil
}

// setuidDenied gives up root for good on this thread, then asks for it
// back: setuid(0) must fail with EPERM.
func setuidDenied([]string) error {
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, 65534, 65534, 65534); e != 0 {
		return fmt.Errorf("setresuid(65534, 65534, 65534): %w", e)
	}
	_, _, e := unix.RawSyscall(unix.SYS_SETUID, 0, 0, 0)
	if e != unix.EPERM {
		return fmt.Errorf("setuid(0) as nobody: %v, want EPERM", e)
	}
	fmt.Println(unix.ErrnoName(e))
	return nil
}

// capsetDrop drops CAP_NET_RAW from this thread's effective set.
func capsetDrop([]string) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[0].Effective &^= 1 << unix.CAP_NET_RAW
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	fmt.Println("ok")
	return nil
}

// idCall is one raw id call: the system call and its arguments.
type idCall struct {
	name string
	nr   uintptr
	args [3]uintptr
}

// awayAndBack makes the call away from root's ids, then the one back:
// two privilege changes, both allowed to root. setfsuid and setfsgid
// return the previous id, not an error: their returns are printed.
func awayAndBack(away, back idCall) error {
	var rets []string
	for _, c := range []idCall{away, back} {
		r, _, e := unix.RawSyscall(c.nr, c.args[0], c.args[1], c.args[2])
		if e != 0 {
			return fmt.Errorf("%s%v: %w", c.name, c.args, e)
		}
		rets = append(rets, strconv.Itoa(int(r)))
	}
	fmt.Println(strings.Join(rets, " "))
	return nil
}

const nobody = 65534

// The actions below change one kind of id to nobody's and back.

func setgidAndBack([]string) error {
	return awayAndBack(idCall{"setgid", unix.SYS_SETGID, [3]uintptr{nobody}},
		idCall{"setgid", unix.SYS_SETGID, [3]uintptr{0}})
}

func setreuidAndBack([]string) error {
	return awayAndBack(idCall{"setreuid", unix.SYS_SETREUID, [3]uintptr{unchanged, nobody}},
		idCall{"setreuid", unix.SYS_SETREUID, [3]uintptr{unchanged, 0}})
}

func setregidAndBack([]string) error {
	return awayAndBack(idCall{"setregid", unix.SYS_SETREGID, [3]uintptr{unchanged, nobody}},
		idCall{"setregid", unix.SYS_SETREGID, [3]uintptr{unchanged, 0}})
}

func setresgidAndBack([]string) error {
	return awayAndBack(idCall{"setresgid", unix.SYS_SETRESGID, [3]uintptr{unchanged, nobody, unchanged}},
		idCall{"setresgid", unix.SYS_SETRESGID, [3]uintptr{unchanged, 0, unchanged}})
}

func setfsuidAndBack([]string) error {
	return awayAndBack(idCall{"setfsuid", unix.SYS_SETFSUID, [3]uintptr{nobody}},
		idCall{"setfsuid", unix.SYS_SETFSUID, [3]uintptr{0}})
}

func setfsgidAndBack([]string) error {
	return awayAndBack(idCall{"setfsgid", unix.SYS_SETFSGID, [3]uintptr{nobody}},
		idCall{"setfsgid", unix.SYS_SETFSGID, [3]uintptr{0}})
}
