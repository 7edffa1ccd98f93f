package enforcetest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// The kernel tests act through child processes, because the cgroup a
// process runs in is what the policies govern: most often the test binary
// itself, run again as a helper (see Main).

// Main runs the helper and exits when the environment variable env is
// set, giving the helper its value; otherwise it runs the tests under
// testenv.Main. Use it as
//
//	func TestMain(m *testing.M) { enforcetest.Main(m, helperEnv, runHelper) }
func Main(m *testing.M, env string, helper func(value string) int) {
	if value, ok := os.LookupEnv(env); ok {
		os.Exit(helper(value))
	}
	testenv.Main(m)
}

// Helper is the test binary run again as a helper, with env set to value
// (see Main), in cg unless cg is nil; its stderr is the test's.
func Helper(tb testing.TB, env, value string, cg *testenv.Cgroup) *exec.Cmd {
	tb.Helper()
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+value)
	cmd.Stderr = os.Stderr
	if cg != nil {
		InCgroup(cmd, *cg)
	}
	return cmd
}

// InCgroup makes cmd start in cg.
func InCgroup(cmd *exec.Cmd, cg testenv.Cgroup) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	return cmd
}

// gateFDEnv names the descriptor on which a helper run by RunGated says
// that it has reached the gate.
const gateFDEnv = "VIGIL_ENFORCETEST_GATE_FD"

// AwaitGate is the helper's side of RunGated: it tells the test that it
// waits (it runs its own image, its exec finished), and returns once the
// test has let the helper go on.
func AwaitGate() error {
	if fd, err := strconv.Atoi(os.Getenv(gateFDEnv)); err == nil {
		// closed before anything else happens, so that no exec the
		// helper makes next inherits it
		ready := os.NewFile(uintptr(fd), "gate")
		_, werr := ready.WriteString("ready\n")
		ready.Close()
		if werr != nil {
			return fmt.Errorf("tell the test: %w", werr)
		}
	}
	_, err := bufio.NewReader(os.Stdin).ReadString('\n')
	return err
}

// Result is how a process ended.
type Result struct {
	PID    int
	State  *os.ProcessState
	Killed bool   // by SIGKILL
	Code   int    // the exit code; -1 when a signal ended it
	Out    string // its stdout and stderr, where the command left them unset
}

// Success is an exit with code 0.
func (r Result) Success() bool { return r.Code == 0 }

func (r Result) String() string {
	return fmt.Sprintf("pid %d: %v, printed %q", r.PID, r.State, r.Out)
}

// Proc is a started process.
type Proc struct {
	tb     testing.TB
	cmd    *exec.Cmd
	out    *bytes.Buffer
	stuck  *time.Timer
	waited bool
}

// Start starts cmd; Wait has what it printed to the stdout and stderr the
// command left unset. A safety net kills it after a minute (a process
// nobody lets go on would hang the test), and one left running when the
// test ends is killed then.
func Start(tb testing.TB, cmd *exec.Cmd) *Proc {
	tb.Helper()
	p := &Proc{tb: tb, cmd: cmd, out: new(bytes.Buffer)}
	if cmd.Stdout == nil {
		cmd.Stdout = p.out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.out
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %v: %v", cmd.Args, err)
	}
	p.stuck = time.AfterFunc(time.Minute, func() {
		tb.Errorf("pid %d still runs after a minute: killed", cmd.Process.Pid)
		cmd.Process.Kill()
	})
	tb.Cleanup(func() {
		if !p.waited {
			p.stuck.Stop()
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
}

// PID is the process's id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Wait waits for the process to end.
func (p *Proc) Wait() Result {
	p.tb.Helper()
	err := p.cmd.Wait()
	p.waited = true
	p.stuck.Stop()
	var xerr *exec.ExitError
	if err != nil && !errors.As(err, &xerr) {
		p.tb.Fatalf("%v: %v", p.cmd.Args, err)
	}
	st := p.cmd.ProcessState
	ws := st.Sys().(syscall.WaitStatus)
	return Result{PID: p.PID(), State: st, Out: p.out.String(),
		Killed: ws.Signaled() && ws.Signal() == syscall.SIGKILL, Code: ws.ExitStatus()}
}

// Run runs cmd to its end (see Start).
func Run(tb testing.TB, cmd *exec.Cmd) Result {
	tb.Helper()
	return Start(tb, cmd).Wait()
}

// RunGated runs cmd, a helper that calls AwaitGate before it acts, to its
// end; before runs while the helper waits at the gate, given its pid.
// "Waits" is the helper's own word: cmd.Start returns as soon as the
// child's exec has closed its descriptors, before the exec is over (and
// before sched_process_exec), so a state set then could still meet the
// helper's own exec.
func RunGated(tb testing.TB, cmd *exec.Cmd, before func(pid int)) Result {
	tb.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	ready, readyW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer ready.Close()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", gateFDEnv, 3+len(cmd.ExtraFiles)))
	cmd.ExtraFiles = append(cmd.ExtraFiles, readyW)
	p := Start(tb, cmd)
	readyW.Close() // the helper holds the only write end: EOF if it dies
	line, err := bufio.NewReader(ready).ReadString('\n')
	if err != nil || line != "ready\n" {
		stdin.Close()
		res := p.Wait()
		tb.Fatalf("helper ended before it reached the gate (%q, %v): %v", line, err, res)
	}
	before(p.PID())
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		tb.Error(err)
	}
	stdin.Close()
	return p.Wait()
}
