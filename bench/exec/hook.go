package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// pacedHook runs cmd (sh -c) beside the paced run, with VIGIL_PID set to the
// agent's pid, and stops it with SIGINT when the run ends: perf stat, perf
// record, strace -c and the like then print what they saw of exactly that
// run. Its output goes to this process's stderr.
type pacedHook struct{ cmd *exec.Cmd }

func startHook(cmd string, pid int) (*pacedHook, error) {
	if cmd == "" {
		return nil, nil
	}
	c := exec.Command("sh", "-c", cmd)
	c.Env = append(os.Environ(), "VIGIL_PID="+strconv.Itoa(pid))
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // SIGINT to the whole pipeline
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("paced hook: %w", err)
	}
	return &pacedHook{cmd: c}, nil
}

func (h *pacedHook) stop() {
	if h == nil {
		return
	}
	_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGINT) // the hook's own group, started above
	_ = h.cmd.Wait()                                     // its exit status says nothing of the agent
}
