package privtest

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// printErrno prints the call's outcome: "ok", or the errno's name.
func printErrno(err error) error {
	var e unix.Errno
	switch {
	case err == nil:
		fmt.Println("ok")
	case errors.As(err, &e):
		fmt.Println(unix.ErrnoName(e))
	default:
		return err
	}
	return nil
}

// initModule offers the kernel an image that is no module: it must be
// refused (ENOEXEC, or ENOSYS on a kernel without modules).
func initModule([]string) error {
	return printErrno(unix.InitModule([]byte("\x7fELF vigil test: not a module"), "vigil_test=1"))
}

// finitModule offers the file args[0] as a module.
func finitModule(args []string) error {
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	return printErrno(unix.FinitModule(int(f.Fd()), "", 0))
}

// deleteModule asks to unload the module args[0].
func deleteModule(args []string) error {
	return printErrno(unix.DeleteModule(args[0], unix.O_NONBLOCK))
}

// bpfLoad loads a socket filter named args[0], and a cgroup_skb program
// named args[0]+"_cg" that it attaches (with a link) to the cgroup v2
// directory args[1].
func bpfLoad(args []string) error {
	insns := asm.Instructions{asm.Mov.Imm(asm.R0, 1), asm.Return()}
	filter, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: args[0], Type: ebpf.SocketFilter, License: "GPL", Instructions: insns,
	})
	if err != nil {
		return fmt.Errorf("load socket filter: %w", err)
	}
	defer filter.Close()
	skb, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: args[0] + "_cg", Type: ebpf.CGroupSKB, License: "GPL", Instructions: insns,
		AttachType: ebpf.AttachCGroupInetIngress,
	})
	if err != nil {
		return fmt.Errorf("load cgroup_skb: %w", err)
	}
	defer skb.Close()
	l, err := link.AttachCgroup(link.CgroupOptions{Path: args[1], Attach: ebpf.AttachCGroupInetIngress, Program: skb})
	if err != nil {
		return fmt.Errorf("attach to %s: %w", args[1], err)
	}
	defer l.Close()
	fmt.Println("ok")
	return nil
}

// kexecLoad asks to load a kernel of 1000 segments: more than the kernel
// takes (EINVAL, EPERM, or ENOSYS without kexec), so nothing is loaded
// on any kernel.
func kexecLoad([]string) error {
	_, _, e := unix.RawSyscall6(unix.SYS_KEXEC_LOAD, 0, 1000, 0, 0, 0, 0)
	return printErrno(errnoOrNil(e))
}

// kexecFileLoad offers no kernel file at all (EBADF, or ENOSYS).
func kexecFileLoad([]string) error {
	bad := ^uintptr(0) // fd -1
	_, _, e := unix.RawSyscall6(unix.SYS_KEXEC_FILE_LOAD, bad, bad, 0, 0, 0, 0)
	return printErrno(errnoOrNil(e))
}

// userfaultfd creates a userfaultfd and prints it.
func userfaultfd([]string) error {
	fd, _, e := unix.RawSyscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|unix.O_NONBLOCK, 0, 0)
	if e != 0 {
		return fmt.Errorf("userfaultfd: %w", e)
	}
	unix.Close(int(fd))
	fmt.Println(fd)
	return nil
}

// personality sets the persona args[0], prints the one it replaced and
// restores that.
func personality(args []string) error {
	persona, err := strconv.ParseUint(args[0], 0, 32)
	if err != nil {
		return err
	}
	old, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, uintptr(persona), 0, 0)
	if e != 0 {
		return fmt.Errorf("personality(%#x): %w", persona, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, old, 0, 0); e != 0 {
		return fmt.Errorf("personality(%#x): %w", old, e)
	}
	fmt.Printf("%d\n", old)
	return nil
}

func errnoOrNil(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
