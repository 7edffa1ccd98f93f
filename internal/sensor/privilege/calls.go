package privilege

import (
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

// callSpec is one system call the sensor watches.
type callSpec struct {
	call privilegePrivCall
	// name is the call as strace and the man pages name it; it is the
	// event's syscall.name.
	name string
	// tracepoint is the suffix of syscalls/sys_enter_* and sys_exit_*:
	// the name the kernel defines the call under.
	tracepoint string
	nr         int // on this architecture
	// args has one letter per argument: 'i' an int (ids, fds, pids),
	// 'u' an unsigned long (flags, sizes, addresses), 'p' a pointer. The
	// event's syscall.args are the 'i' and 'u' ones, in order.
	args string
	kind event.Kind
}

// calls lists every watched call; the kernel side knows them by
// privilegePrivCall, the loader maps this architecture's numbers to them.
func calls() []callSpec {
	return []callSpec{
		{privilegePrivCallCALL_SETUID, "setuid", "setuid", unix.SYS_SETUID, "i", event.KindPrivilegeChange},
		{privilegePrivCallCALL_SETGID, "setgid", "setgid", unix.SYS_SETGID, "i", event.KindPrivilegeChange},
		{privilegePrivCallCALL_SETREUID, "setreuid", "setreuid", unix.SYS_SETREUID, "ii", event.KindPrivilegeChange},
		{privilegePrivCallCALL_SETREGID, "setregid", "setregid", unix.SYS_SETREGID, "ii", event.KindPrivilegeChange},
		{privilegePrivCallCALL_SETRESUID, "setresuid", "setresuid", unix.SYS_SETRESUID, "iii", event.KindPrivilegeChange},
		{privilegePrivCallCALL_SETRESGID, "setresgid", "setresgid", unix.SYS_SETRESGID, "iii", event.KindPrivilegeChange},
		{privilegePrivCallCALL_SETFSUID, "setfsuid", "setfsuid", unix.SYS_SETFSUID, "i", event.KindPrivilegeChange},
		{privilegePrivCallCALL_SETFSGID, "setfsgid", "setfsgid", unix.SYS_SETFSGID, "i", event.KindPrivilegeChange},
		{privilegePrivCallCALL_CAPSET, "capset", "capset", unix.SYS_CAPSET, "pp", event.KindPrivilegeChange},
		{privilegePrivCallCALL_PTRACE, "ptrace", "ptrace", unix.SYS_PTRACE, "iiuu", event.KindPtrace},
		{privilegePrivCallCALL_PROCESS_VM_WRITEV, "process_vm_writev", "process_vm_writev", unix.SYS_PROCESS_VM_WRITEV, "ipupuu", event.KindProcessVMWrite},
		{privilegePrivCallCALL_UNSHARE, "unshare", "unshare", unix.SYS_UNSHARE, "u", event.KindNamespaceChange},
		{privilegePrivCallCALL_SETNS, "setns", "setns", unix.SYS_SETNS, "ii", event.KindNamespaceChange},
		{privilegePrivCallCALL_CLONE, "clone", "clone", unix.SYS_CLONE, "upppp", event.KindNamespaceChange},
		{privilegePrivCallCALL_CLONE3, "clone3", "clone3", unix.SYS_CLONE3, "pu", event.KindNamespaceChange},
		{privilegePrivCallCALL_MOUNT, "mount", "mount", unix.SYS_MOUNT, "pppup", event.KindMount},
		{privilegePrivCallCALL_MOVE_MOUNT, "move_mount", "move_mount", unix.SYS_MOVE_MOUNT, "ipipu", event.KindMount},
		{privilegePrivCallCALL_UMOUNT, "umount2", "umount", unix.SYS_UMOUNT2, "pi", event.KindUmount},
		{privilegePrivCallCALL_CHROOT, "chroot", "chroot", unix.SYS_CHROOT, "p", event.KindChroot},
		{privilegePrivCallCALL_PIVOT_ROOT, "pivot_root", "pivot_root", unix.SYS_PIVOT_ROOT, "pp", event.KindPivotRoot},
		{privilegePrivCallCALL_INIT_MODULE, "init_module", "init_module", unix.SYS_INIT_MODULE, "pup", event.KindModuleLoad},
		{privilegePrivCallCALL_FINIT_MODULE, "finit_module", "finit_module", unix.SYS_FINIT_MODULE, "ipi", event.KindModuleLoad},
		{privilegePrivCallCALL_DELETE_MODULE, "delete_module", "delete_module", unix.SYS_DELETE_MODULE, "pu", event.KindModuleUnload},
		{privilegePrivCallCALL_BPF, "bpf", "bpf", unix.SYS_BPF, "ipu", event.KindBPFLoad},
		{privilegePrivCallCALL_KEXEC_LOAD, "kexec_load", "kexec_load", unix.SYS_KEXEC_LOAD, "uupu", event.KindKexecLoad},
		{privilegePrivCallCALL_KEXEC_FILE_LOAD, "kexec_file_load", "kexec_file_load", unix.SYS_KEXEC_FILE_LOAD, "iiupu", event.KindKexecLoad},
		{privilegePrivCallCALL_USERFAULTFD, "userfaultfd", "userfaultfd", unix.SYS_USERFAULTFD, "i", event.KindUserfaultfd},
		{privilegePrivCallCALL_PERSONALITY, "personality", "personality", unix.SYS_PERSONALITY, "i", event.KindPersonality},
	}
}

// callTable indexes calls() by privilegePrivCall for the decoder.
type callTable [privilegePrivCallCALL_COUNT]*callSpec

func newCallTable() *callTable {
	var t callTable
	for _, c := range calls() {
		t[c.call] = &c
	}
	return &t
}

func (t *callTable) get(c privilegePrivCall) *callSpec {
	if c >= privilegePrivCallCALL_COUNT {
		return nil
	}
	return t[c]
}

// Kinds are the event kinds the sensor produces, as internal/event's table
// of kinds lists them; one Decoder handles all.
func Kinds() []event.Kind {
	return event.KindsOf(event.FamilyPrivilege)
}
