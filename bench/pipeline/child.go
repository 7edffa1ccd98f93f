package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv makes this program the load: "open PATH N RATE" opens and
// closes PATH N times, paced at RATE a second (0: as fast as it can), and
// prints how many it made and in how long; "spawn N DEADLINE" starts N
// short-lived processes (/bin/true), one after the other, or as many as
// fit before DEADLINE (Unix ns).
const childEnv = "V19P_PIPELINE_CHILD"

func runChild(job string) int {
	var spawns int
	var deadline int64
	if _, err := fmt.Sscanf(job, "spawn %d %d", &spawns, &deadline); err == nil {
		return spawn(spawns, time.Unix(0, deadline))
	}
	var path string
	var n, rate int
	if _, err := fmt.Sscanf(job, "open %s %d %d", &path, &n, &rate); err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "child: bad job %q\n", job)
		return 2
	}
	runtime.LockOSThread()
	start := time.Now()
	for i := 0; i < n; {
		if rate > 0 {
			// pace: as many as the rate allows by now, in bursts of at
			// most a millisecond's worth
			due := int(time.Since(start).Seconds() * float64(rate))
			if due <= i {
				time.Sleep(200 * time.Microsecond)
				continue
			}
			for ; i < n && i < due; i++ {
				openClose(path)
			}
			continue
		}
		openClose(path)
		i++
	}
	fmt.Printf("%d %d\n", n, time.Since(start).Nanoseconds())
	return 0
}

func openClose(path string) {
	fd, err := unix.Openat(unix.AT_FDCWD, path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(1)
	}
	_ = unix.Close(fd)
}

// spawn forks, execs and waits for /bin/true n times, or until the
// deadline: the short-lived processes the agent follows and caches.
func spawn(n int, deadline time.Time) int {
	argv := []string{"/bin/true"}
	attr := &syscall.ProcAttr{Env: []string{}}
	start := time.Now()
	made := 0
	for ; made < n && (made%1000 != 0 || time.Now().Before(deadline)); made++ {
		pid, err := syscall.ForkExec(argv[0], argv, attr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child: spawn:", err)
			return 1
		}
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			fmt.Fprintln(os.Stderr, "child: wait:", err)
			return 1
		}
	}
	fmt.Printf("%d %d\n", made, time.Since(start).Nanoseconds())
	return 0
}
