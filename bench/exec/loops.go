package main

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// forkExecLoop starts /bin/true n times, one after the other, and returns
// the CPU time and the wall time per exec in nanoseconds. The CPU time is
// this thread's (the fork, the wait) plus the children's (their exec, the
// run of /bin/true, their exit): where the sensors' programs run. Call it
// from a locked thread, while no other child of this process is reaped.
func forkExecLoop(n int, env []string) (cpu, wall float64) {
	attr := &syscall.ProcAttr{Env: env}
	t0, c0, w0 := threadCPU(), childrenCPU(), time.Now()
	for i := 0; i < n; i++ {
		startTrue(attr)
	}
	w := time.Since(w0)
	used := threadCPU() - t0 + childrenCPU() - c0
	return float64(used) / float64(n), float64(w) / float64(n)
}

func startTrue(attr *syscall.ProcAttr) {
	pid, err := syscall.ForkExec("/bin/true", []string{"true"}, attr)
	if err != nil {
		fail("fork/exec: %v", err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		fail("wait: %v", err)
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		fail("/bin/true ended with %v", ws)
	}
}

// getppidLoop calls getppid n times and returns the thread's CPU time and
// the wall time per call, in nanoseconds.
func getppidLoop(n int) (cpu, wall float64) {
	t0, w0 := threadCPU(), time.Now()
	for i := 0; i < n; i++ {
		syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
	}
	w := time.Since(w0)
	return float64(threadCPU()-t0) / float64(n), float64(w) / float64(n)
}

// pacedRun is what a paced loop achieved.
type pacedRun struct {
	execs int
	wall  time.Duration
}

func (p pacedRun) rate() float64 { return float64(p.execs) / p.wall.Seconds() }

// pacedLoop starts rate×d processes of /bin/true on one schedule (start i
// is due at i/rate seconds), shared by workers threads: a worker takes the
// next start, sleeps until it is due, runs it and waits for it. One thread
// alone cannot start /bin/true much faster than about 1 100 times a second
// on the project's VMs; when the workers fall behind, they run back to
// back and the rate achieved is lower than asked, which rate() tells.
func pacedLoop(rate int, d time.Duration, workers int, env []string) pacedRun {
	total := int(float64(rate) * d.Seconds())
	period := time.Second / time.Duration(rate)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			attr := &syscall.ProcAttr{Env: env}
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				if wait := time.Until(start.Add(time.Duration(i) * period)); wait > 0 {
					time.Sleep(wait)
				}
				startTrue(attr)
			}
		}()
	}
	wg.Wait()
	return pacedRun{execs: total, wall: time.Since(start)}
}

// threadCPU is the calling thread's CPU time, system time included.
func threadCPU() time.Duration { return clockTime(unix.CLOCK_THREAD_CPUTIME_ID) }

// childrenCPU is the user and system time of every child this process has
// reaped so far.
func childrenCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_CHILDREN, &ru); err != nil {
		fail("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU is another process's CPU time, every thread's (exited ones
// included), from its process CPU clock: the kernel's own nanoseconds,
// unlike the 10 ms ticks of /proc/PID/stat.
func processCPU(pid int) time.Duration {
	// MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED) of glibc
	const cpuclockSched = 2
	return clockTime(int32(^uint32(pid))<<3 | cpuclockSched)
}

func clockTime(id int32) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		fail("clock_gettime(%d): %v", id, err)
	}
	return time.Duration(ts.Nano())
}
