package kernel

import "golang.org/x/sys/unix"

// compatChild forks (clone with SIGCHLD, nothing shared) and returns the
// child's pid, or -errno. The child runs no Go code, so it is safe in a
// multi-threaded process, and the Go runtime's signal handlers never run
// in it: it blocks every signal but SIGSEGV and sets SIGSEGV to its
// default action (a fault's forced SIGILL or SIGBUS also kills it, being
// blocked), calls ia32 getpid (20) through "int $0x80", and exits with 0
// when that returned its pid, the errno (1-254) when it returned one, 255
// for anything else.
func compatChild() int64

func forkCompatChild() (int, error) {
	pid := compatChild()
	if pid < 0 {
		return 0, unix.Errno(-pid)
	}
	return int(pid), nil
}
