package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// mode is one configuration a load runs under.
type mode struct {
	name  string
	start func() (running, error)
}

// running is a started mode; stop ends it and says what it saw.
type running interface {
	stop() (note string, err error)
	// pid is the process that holds the mode's BPF programs (0: none)
	pid() int
}

type nothing struct{}

func (nothing) stop() (string, error) { return "", nil }
func (nothing) pid() int              { return 0 }

func noAgent() mode {
	return mode{name: "A: no agent", start: func() (running, error) { return nothing{}, nil }}
}

// agentMode is `vigil run` with its metrics on a free loopback port; with
// observers, stop checks that they measured something (the run-queue
// histogram has samples), so that a ratio never comes from an agent whose
// observers did not load.
func agentMode(name, bin, pinDir string, extra []string, observers bool) mode {
	return mode{name: name, start: func() (running, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		args := append([]string{"run", "--format", "json", "--output", "/dev/null", "--socket", "",
			"--pin-dir", pinDir, "--state-dir", "", "--metrics-addr", addr}, extra...)
		cmd := exec.Command(bin, args...)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", bin, err)
		}
		a := &agentProc{cmd: cmd, metrics: "http://" + addr + "/metrics", observers: observers, done: make(chan struct{})}
		sc := bufio.NewScanner(stderr)
		var last []string
		for sc.Scan() {
			last = append(last, sc.Text())
			if strings.Contains(sc.Text(), "msg=started") {
				go func() {
					defer close(a.done)
					for sc.Scan() { // keep the pipe drained
					}
				}()
				return a, nil
			}
		}
		return nil, fmt.Errorf("agent exited before it started: %v\n%s", cmd.Wait(), strings.Join(last, "\n"))
	}}
}

type agentProc struct {
	cmd       *exec.Cmd
	metrics   string
	observers bool
	done      chan struct{}
}

func (a *agentProc) pid() int { return a.cmd.Process.Pid }

func (a *agentProc) stop() (string, error) {
	note, checked := "", error(nil)
	if a.observers {
		n, err := runqSamples(a.metrics)
		switch {
		case err != nil:
			checked = err
		case n == 0:
			checked = fmt.Errorf("the observers measured no run-queue latency: are they on?")
		default:
			note = fmt.Sprintf("%d run-queue samples", n)
		}
	}
	// the agent is stopped whatever the check said: a failed run leaves
	// no agent behind
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return "", errors.Join(checked, err)
	}
	<-a.done
	if err := a.cmd.Wait(); err != nil {
		return "", errors.Join(checked, fmt.Errorf("agent: %w", err))
	}
	return note, checked
}

// runqSamples is the total count of vigil_sched_runq_latency_seconds in
// the agent's scrape.
func runqSamples(url string) (int64, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var total int64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "vigil_sched_runq_latency_seconds_count") {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
				total += int64(v)
			}
		}
	}
	return total, sc.Err()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// libbpfTool is the libbpf-tools program name (runqlat, biolatency,
// tcprtt) run as its user would, until SIGINT, when it prints its
// histogram; false when it is not installed.
func libbpfTool(name string) (mode, bool) {
	bin, err := exec.LookPath(name)
	if err != nil {
		return mode{}, false
	}
	return mode{name: "D: libbpf-tools " + name, start: func() (running, error) {
		var out bytes.Buffer
		cmd := exec.Command(bin)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// attached when it holds a BPF link or perf event: its programs
		// run from then on
		deadline := time.Now().Add(30 * time.Second)
		for !attached(cmd.Process.Pid) {
			select {
			case err := <-exited:
				return nil, fmt.Errorf("%s exited (%v) before it attached:\n%s", name, err, out.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				<-exited
				return nil, fmt.Errorf("%s did not attach within 30s:\n%s", name, out.String())
			}
		}
		return &toolProc{cmd: cmd, out: &out, exited: exited}, nil
	}}, true
}

func attached(pid int) bool {
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil &&
			(strings.Contains(target, "bpf_link") || strings.Contains(target, "perf_event")) {
			return true
		}
	}
	return false
}

type toolProc struct {
	cmd    *exec.Cmd
	out    *bytes.Buffer
	exited chan error
}

func (t *toolProc) pid() int { return t.cmd.Process.Pid }

func (t *toolProc) stop() (string, error) {
	if err := t.cmd.Process.Signal(syscall.SIGINT); err != nil {
		return "", err
	}
	if err := <-t.exited; err != nil {
		return "", fmt.Errorf("%v:\n%s", err, t.out.String())
	}
	lines := strings.Count(t.out.String(), "|")
	return fmt.Sprintf("%d histogram lines", lines), nil
}
