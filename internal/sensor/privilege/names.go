package privilege

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/capability"
)

// capList names the capabilities in a set, lowest bit first; never nil.
func capList(set uint64) []string { return capability.List(set) }

type flagName struct {
	bit  uint64
	name string
}

// flagList names the bits of v; bits without a name are given in hex.
func flagList(v uint64, names []flagName) []string {
	var out []string
	for _, f := range names {
		if v&f.bit != 0 {
			out = append(out, f.name)
			v &^= f.bit
		}
	}
	if v != 0 {
		out = append(out, fmt.Sprintf("0x%x", v))
	}
	return out
}

func mountFlags() []flagName {
	return []flagName{
		{unix.MS_RDONLY, "MS_RDONLY"}, {unix.MS_NOSUID, "MS_NOSUID"}, {unix.MS_NODEV, "MS_NODEV"},
		{unix.MS_NOEXEC, "MS_NOEXEC"}, {unix.MS_SYNCHRONOUS, "MS_SYNCHRONOUS"},
		{unix.MS_REMOUNT, "MS_REMOUNT"}, {unix.MS_MANDLOCK, "MS_MANDLOCK"},
		{unix.MS_DIRSYNC, "MS_DIRSYNC"}, {unix.MS_NOSYMFOLLOW, "MS_NOSYMFOLLOW"},
		{unix.MS_NOATIME, "MS_NOATIME"}, {unix.MS_NODIRATIME, "MS_NODIRATIME"},
		{unix.MS_BIND, "MS_BIND"}, {unix.MS_MOVE, "MS_MOVE"}, {unix.MS_REC, "MS_REC"},
		{unix.MS_SILENT, "MS_SILENT"}, {unix.MS_POSIXACL, "MS_POSIXACL"},
		{unix.MS_UNBINDABLE, "MS_UNBINDABLE"}, {unix.MS_PRIVATE, "MS_PRIVATE"},
		{unix.MS_SLAVE, "MS_SLAVE"}, {unix.MS_SHARED, "MS_SHARED"},
		{unix.MS_RELATIME, "MS_RELATIME"}, {unix.MS_KERNMOUNT, "MS_KERNMOUNT"},
		{unix.MS_I_VERSION, "MS_I_VERSION"}, {unix.MS_STRICTATIME, "MS_STRICTATIME"},
		{unix.MS_LAZYTIME, "MS_LAZYTIME"},
	}
}

// mountFlagList names mount(2)'s flags, without the historic magic
// number old callers put in the top 16 bits.
func mountFlagList(v uint64) []string {
	if v&unix.MS_MGC_MSK == unix.MS_MGC_VAL {
		v &^= unix.MS_MGC_MSK
	}
	return flagList(v, mountFlags())
}

func umountFlags() []flagName {
	return []flagName{
		{unix.MNT_FORCE, "MNT_FORCE"}, {unix.MNT_DETACH, "MNT_DETACH"},
		{unix.MNT_EXPIRE, "MNT_EXPIRE"}, {unix.UMOUNT_NOFOLLOW, "UMOUNT_NOFOLLOW"},
	}
}

func moveMountFlags() []flagName {
	return []flagName{
		{unix.MOVE_MOUNT_F_SYMLINKS, "MOVE_MOUNT_F_SYMLINKS"},
		{unix.MOVE_MOUNT_F_AUTOMOUNTS, "MOVE_MOUNT_F_AUTOMOUNTS"},
		{unix.MOVE_MOUNT_F_EMPTY_PATH, "MOVE_MOUNT_F_EMPTY_PATH"},
		{unix.MOVE_MOUNT_T_SYMLINKS, "MOVE_MOUNT_T_SYMLINKS"},
		{unix.MOVE_MOUNT_T_AUTOMOUNTS, "MOVE_MOUNT_T_AUTOMOUNTS"},
		{unix.MOVE_MOUNT_T_EMPTY_PATH, "MOVE_MOUNT_T_EMPTY_PATH"},
		{unix.MOVE_MOUNT_SET_GROUP, "MOVE_MOUNT_SET_GROUP"},
		{0x200, "MOVE_MOUNT_BENEATH"}, // 6.5+, not in x/sys yet,
	}
}

// nsTypes are the namespace types in the order events list them.
func nsTypes() []flagName {
	return []flagName{
		{unix.CLONE_NEWNS, "mnt"}, {unix.CLONE_NEWNET, "net"}, {unix.CLONE_NEWPID, "pid"},
		{unix.CLONE_NEWUSER, "user"}, {unix.CLONE_NEWUTS, "uts"}, {unix.CLONE_NEWIPC, "ipc"},
		{unix.CLONE_NEWCGROUP, "cgroup"}, {unix.CLONE_NEWTIME, "time"},
	}
}

// nsTypeList names the CLONE_NEW* bits; never nil.
func nsTypeList(v uint32) []string {
	out := []string{}
	for _, t := range nsTypes() {
		if uint64(v)&t.bit != 0 {
			out = append(out, t.name)
		}
	}
	return out
}

// ptraceRequest names a ptrace request (include/uapi/linux/ptrace.h;
// 12 to 15 are x86's own).
func ptraceRequest(req int64) string {
	names := map[int64]string{
		0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSR",
		4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSR", 7: "PTRACE_CONT",
		8: "PTRACE_KILL", 9: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS",
		14: "PTRACE_GETFPREGS", 15: "PTRACE_SETFPREGS", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH",
		24: "PTRACE_SYSCALL", 0x4200: "PTRACE_SETOPTIONS", 0x4204: "PTRACE_GETREGSET",
		0x4205: "PTRACE_SETREGSET", 0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT",
	}
	if name, ok := names[req]; ok {
		return name
	}
	return fmt.Sprintf("PTRACE_%d", req)
}

// Constants the decoder branches on (include/uapi/linux/mount.h, bpf.h).
const (
	mountBind   = 4096 // MS_BIND
	mountMove   = 8192 // MS_MOVE
	bpfProgLoad = 5    // BPF_PROG_LOAD
)
