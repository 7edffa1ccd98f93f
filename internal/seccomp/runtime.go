package seccomp

// RuntimeCalls are the calls a container's process makes after runc has
// installed its seccomp filter and before the workload's program runs,
// execve included. A recording that starts after the container's process
// did (vigil profile --container, --cgroup) cannot see them, yet a profile
// without them stops the container from starting.
//
// Where the list comes from: runc 1.1 (Debian 12's 1.1.5) with
// noNewPrivileges (runc spec's default) installs the filter at the end of
// runc init, then closes its descriptors (walking /proc/self/fd), writes to
// its sync pipe, waits on the exec FIFO and execs the program. The calls
// were measured by running a container under a profile whose default action
// is SCMP_ACT_LOG, reading the kernel's audit records (type 1326) of the
// process while its comm was still runc:[2:INIT], adding them to the allowed
// calls and running again until none was logged: close, epoll_ctl, execve,
// fstatfs, futex, getdents64, getpid, openat, rt_sigreturn, write. runc init
// is a Go program, so the calls its runtime makes at any moment (signal
// preemption, the scheduler, the garbage collector) are added whether or not
// that run happened to make them. TestContainerProfile runs a container
// under a profile recorded after runc create, which relies on this list.
var RuntimeCalls = []string{
	// measured
	"close", "epoll_ctl", "execve", "fstatfs", "futex", "getdents64", "getpid", "openat",
	"rt_sigreturn", "write",
	// the Go runtime's, at any moment
	"epoll_pwait", "exit", "exit_group", "fcntl", "gettid", "madvise", "mmap", "munmap",
	"nanosleep", "read", "rt_sigaction", "rt_sigprocmask", "sched_yield", "sigaltstack", "tgkill",
}
