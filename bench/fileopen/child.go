package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv makes this program the load: "PATH N" opens and closes PATH N
// times on one thread and prints what each pair cost; "getppid N" makes a
// system call no file watch is about, N times.
const childEnv = "VIGIL_FILEOPEN_CHILD"

// runChild is the measured loop. It runs in a process of its own, started
// after the mode is set up, so that vigil's own-process exemption does not
// apply and audit's per-task state is that of the mode.
func runChild(job string) int {
	var path string
	var n int
	if _, err := fmt.Sscanf(job, "%s %d", &path, &n); err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "child: bad job %q\n", job)
		return 2
	}
	runtime.LockOSThread()
	flags := unix.O_RDONLY
	if p, ok := strings.CutPrefix(path, writePrefix); ok {
		path, flags = p, unix.O_WRONLY
	}
	op := func() { openClose(path, flags) }
	if path == "getppid" {
		op = func() { unix.Getppid() }
	}
	// warm the dentry cache and the branch predictors
	for i := 0; i < n/10; i++ {
		op()
	}
	cpu0, wall0 := threadCPU(), time.Now()
	for i := 0; i < n; i++ {
		op()
	}
	cpu, wall := threadCPU()-cpu0, time.Since(wall0)
	fmt.Printf("%d %d\n", cpu.Nanoseconds()/int64(n), wall.Nanoseconds()/int64(n))
	return 0
}

// writePrefix before a job's path opens it for writing (O_WRONLY, no
// truncation: the file stays as it is).
const writePrefix = "w:"

func openClose(path string, flags int) {
	fd, err := unix.Openat(unix.AT_FDCWD, path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(1)
	}
	unix.Close(fd)
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		fmt.Fprintln(os.Stderr, "child: thread CPU clock:", err)
		os.Exit(1)
	}
	return time.Duration(ts.Nano())
}
