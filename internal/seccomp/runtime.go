package seccomp

// RuntimeCalls are the calls runc makes in the container's process after
// it has installed the seccomp filter and before the workload's own
// program runs (libcontainer's standard_init_linux.go: with
// noNewPrivileges, the filter goes in just before runc init waits on the
// exec FIFO and execs the program; the Go runtime's own calls in between),
// together with execve itself. A recording that starts after the container's
// process did (vigil profile --container, --cgroup) cannot see them, yet a
// profile without them stops the container from starting. The list was
// measured, not guessed: TestRuntimeCalls runs runc 1.1 (Debian 12) with a
// profile of only these calls and SCMP_ACT_ERRNO, and the container must
// start and run a static program.
var RuntimeCalls = []string{
	"execve",
}
