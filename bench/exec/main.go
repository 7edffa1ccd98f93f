// Command exec measures what the running agent costs the processes it
// watches: a fork+exec loop of /bin/true and a getppid loop, each run
// without and with `vigil run`, in alternating rounds (A/B), reported as
// medians and ratios, plus the agent's own CPU time per exec and its CPU
// share at a fixed exec rate.
//
//	go run ./bench/exec -vigil bin/vigil -rounds 7
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	vigil := flag.String("vigil", "bin/vigil", "the vigil binary to measure")
	rounds := flag.Int("rounds", 7, "A/B rounds")
	execs := flag.Int("execs", 2000, "fork+execs per measurement")
	calls := flag.Int("getppid", 5_000_000, "getppid calls per measurement")
	rate := flag.Int("rate", 1600, "exec/s for the paced CPU measurement")
	paced := flag.Duration("paced", 5*time.Second, "length of the paced run")
	flag.Parse()
	if os.Geteuid() != 0 {
		fail("the agent needs root: run as root")
	}

	var execA, execB, ppidA, ppidB, agentPerExec, agentShare []float64
	for r := 0; r < *rounds; r++ {
		execA = append(execA, perOp(forkExecLoop(*execs), *execs))
		ppidA = append(ppidA, perOp(getppidLoop(*calls), *calls))

		agent := startAgent(*vigil)
		cpu0 := agent.cpu()
		execB = append(execB, perOp(forkExecLoop(*execs), *execs))
		agentPerExec = append(agentPerExec, float64(agent.cpu()-cpu0)/float64(*execs))
		ppidB = append(ppidB, perOp(getppidLoop(*calls), *calls))
		cpu1, t1 := agent.cpu(), time.Now()
		pacedLoop(*rate, *paced)
		agentShare = append(agentShare, float64(agent.cpu()-cpu1)/float64(time.Since(t1)))
		agent.stop()
		fmt.Fprintf(os.Stderr, "round %d/%d done\n", r+1, *rounds)
	}

	fmt.Printf("rounds: %d (A = no agent, B = vigil run --events all --format json --output /dev/null)\n\n", *rounds)
	fmt.Printf("| measurement | A median | B median | B/A |\n|---|---|---|---|\n")
	row := func(name string, a, b []float64, unit time.Duration) {
		ma, mb := median(a), median(b)
		fmt.Printf("| %s | %v | %v | %.3f |\n", name, time.Duration(ma*float64(unit)), time.Duration(mb*float64(unit)), mb/ma)
	}
	row("fork+exec+wait of /bin/true", execA, execB, time.Nanosecond)
	row("getppid", ppidA, ppidB, time.Nanosecond)
	fmt.Printf("\nagent CPU per exec (fork+exec+exit records): %v (median)\n", time.Duration(median(agentPerExec)))
	fmt.Printf("agent CPU at %d exec/s: %.2f %% of one core (median)\n", *rate, 100*median(agentShare))
}

func perOp(d time.Duration, n int) float64 { return float64(d) / float64(n) }

func forkExecLoop(n int) time.Duration {
	attr := &syscall.ProcAttr{Env: []string{}}
	start := time.Now()
	for i := 0; i < n; i++ {
		pid, err := syscall.ForkExec("/bin/true", []string{"true"}, attr)
		if err != nil {
			fail("fork/exec: %v", err)
		}
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			fail("wait: %v", err)
		}
	}
	return time.Since(start)
}

func getppidLoop(n int) time.Duration {
	start := time.Now()
	for i := 0; i < n; i++ {
		syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
	}
	return time.Since(start)
}

// pacedLoop fork+execs at a fixed rate, in batches each millisecond tick.
func pacedLoop(rate int, d time.Duration) {
	start := time.Now()
	done := 0
	for elapsed := time.Duration(0); elapsed < d; elapsed = time.Since(start) {
		due := int(float64(rate) * elapsed.Seconds())
		if due > done {
			forkExecLoop(due - done)
			done = due
		}
		time.Sleep(time.Millisecond)
	}
}

type agent struct {
	cmd *exec.Cmd
}

func startAgent(bin string) *agent {
	cmd := exec.Command(bin, "run", "--events", "all", "--format", "json", "--output", "/dev/null")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		fail("%v", err)
	}
	if err := cmd.Start(); err != nil {
		fail("start %s: %v", bin, err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "msg=started") {
			go func() {
				for sc.Scan() { // keep draining: the agent logs and prints its summary
				}
			}()
			return &agent{cmd: cmd}
		}
	}
	fail("agent exited before it started: %v", cmd.Wait())
	return nil
}

// cpu is the agent's user+system time so far, in nanoseconds.
func (a *agent) cpu() int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", a.cmd.Process.Pid))
	if err != nil {
		fail("read agent stat: %v", err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return (utime + stime) * int64(time.Second) / 100 // USER_HZ
}

func (a *agent) stop() {
	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := a.cmd.Wait(); err != nil {
		fail("agent: %v", err)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/exec: "+format+"\n", args...)
	os.Exit(1)
}
