package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/file"
	"github.com/vigil-sec/vigil/internal/sensor/network"
	"github.com/vigil-sec/vigil/internal/sensor/privilege"
	"github.com/vigil-sec/vigil/internal/sensor/process"
)

// mode is one configuration the loops run under.
type mode struct {
	name  string
	start func() (running, error)
	// base is the index of the mode it is compared with, in the same round.
	base int
}

// running is a started mode; stop ends it and says what it lost.
type running interface {
	stop() (note string, err error)
}

type nothing struct{}

func (nothing) stop() (string, error) { return "", nil }

func baseline() mode {
	return mode{name: "A: no agent", start: func() (running, error) { return nothing{}, nil }}
}

func agentMode(bin string, cg *benchCgroup, extra []string) mode {
	args := agentArgs(cg, "/dev/null", extra)
	return mode{name: "B: vigil run", start: func() (running, error) { return startAgent(bin, args, nil) }}
}

// agentArgs are the measured agent's flags: every event as JSON into
// output ("-" for its stdout), enforcement pinned apart from any agent of
// the host's (removed by main when the benchmark ends).
func agentArgs(cg *benchCgroup, output string, extra []string) []string {
	args := []string{"run", "--events", "all", "--format", "json", "--socket", "",
		"--pin-dir", benchPinDir, "--state-dir", ""}
	if output != "-" {
		args = append(args, "--output", output)
	}
	if cg != nil {
		args = append(args, "--cgroup", cg.rel())
	}
	return append(args, extra...)
}

// agentProc is `vigil run` as a user runs it, every event written as JSON
// to /dev/null (so the whole pipeline runs: decode, enrich, rules,
// encode), without the local API socket (another agent may hold it).
type agentProc struct {
	cmd     *exec.Cmd
	drained chan struct{}
	summary atomic.Pointer[string]
}

var (
	droppedRE = regexp.MustCompile(`dropped (\d+) in the kernel`)
	recordsRE = regexp.MustCompile(`: (\d+) records`)
)

// startAgent starts the agent and returns once it logged that it started;
// its stdout goes to stdout (nil: nowhere).
func startAgent(bin string, args []string, stdout io.Writer) (*agentProc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout = stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	a := &agentProc{cmd: cmd, drained: make(chan struct{})}
	sc := bufio.NewScanner(stderr)
	var last []string
	for sc.Scan() {
		last = append(last, sc.Text())
		if strings.Contains(sc.Text(), "msg=started") {
			go func() {
				defer close(a.drained)
				for sc.Scan() { // keep draining: the agent logs, and prints its summary
					if line := sc.Text(); strings.HasPrefix(line, "vigil stopped after") {
						a.summary.Store(&line)
					}
				}
			}()
			return a, nil
		}
	}
	return nil, fmt.Errorf("agent exited before it started: %v\n%s", cmd.Wait(), strings.Join(last, "\n"))
}

func (a *agentProc) cpu() time.Duration { return processCPU(a.cmd.Process.Pid) }

// measure runs fn and returns the agent's CPU time and the wall time it took.
func (a *agentProc) measure(fn func()) (cpu, wall time.Duration) {
	c0, w0 := a.cpu(), time.Now()
	fn()
	return a.cpu() - c0, time.Since(w0)
}

// stop ends the agent with SIGTERM, as a user would, and returns the
// records it read and those the kernel dropped, from its summary.
func (a *agentProc) stop() (string, error) {
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return "", err
	}
	<-a.drained // the pipe closes when the agent exits
	if err := a.cmd.Wait(); err != nil {
		return "", fmt.Errorf("agent: %w", err)
	}
	line := a.summary.Load()
	if line == nil {
		return "", errors.New("agent printed no summary")
	}
	dropped, records := droppedRE.FindStringSubmatch(*line), recordsRE.FindStringSubmatch(*line)
	if dropped == nil || records == nil {
		return "", fmt.Errorf("no record or drop count in the agent's summary %q", *line)
	}
	return records[1] + "/" + dropped[1], nil
}

// sensorModes load one sensor each, alone, in this process, with the
// agent's default configuration, scoped like the agent.
func sensorModes(scope ring.Scope) []mode {
	v1, _, _, err := kernel.CgroupV1Controller()
	if err != nil {
		fail("cgroup v1 layout: %v", err)
	}
	sensorMode := func(name string, load func(*ring.Ring) (io.Closer, error)) mode {
		return loadedMode(name, scope, load)
	}
	return []mode{
		// the control: a ring and its reader goroutine, no program
		sensorMode("ring reader alone (no program)", func(*ring.Ring) (io.Closer, error) {
			return noPrograms{}, nil
		}),
		sensorMode("process sensor alone (tp_btf sched_*), environment watch off", func(r *ring.Ring) (io.Closer, error) {
			return process.Load(r, process.Options{CgroupV1Subsys: v1})
		}),
		sensorMode("process sensor alone, environment watch on (the default)", func(r *ring.Ring) (io.Closer, error) {
			return process.Load(r, process.Options{CgroupV1Subsys: v1, Env: process.DefaultEnv()})
		}),
		sensorMode("file sensor alone (syscall tracepoints)", func(r *ring.Ring) (io.Closer, error) {
			return file.Load(r, file.DefaultConfig())
		}),
		sensorMode("network sensor alone (syscall tracepoints)", func(r *ring.Ring) (io.Closer, error) {
			return network.Load(r, network.DefaultConfig())
		}),
		sensorMode("privilege sensor alone (syscall tracepoints)", func(r *ring.Ring) (io.Closer, error) {
			return privilege.Load(r, privilege.Options{})
		}),
	}
}

type noPrograms struct{}

func (noPrograms) Close() error { return nil }

type loadedSensor struct {
	ring    *ring.Ring
	sensor  io.Closer
	done    chan error
	records atomic.Uint64
}

func loadedMode(name string, scope ring.Scope, load func(*ring.Ring) (io.Closer, error)) mode {
	return mode{name: name, start: func() (running, error) {
		rc := ring.DefaultConfig()
		rc.Scope = scope
		r, err := ring.New(rc)
		if err != nil {
			return nil, err
		}
		s, err := load(r)
		if err != nil {
			r.Close()
			return nil, err
		}
		l := &loadedSensor{ring: r, sensor: s, done: make(chan error, 1)}
		go func() { l.done <- r.Read(func([]byte) { l.records.Add(1) }, func() {}) }()
		return l, nil
	}}
}

// programStats reads the run-time statistics of the sensor's programs
// (all zero unless kernel.bpf_stats_enabled is on).
func (l *loadedSensor) programStats() map[string]ebpf.ProgramStats {
	s, ok := l.sensor.(interface {
		Programs() map[string]*ebpf.Program
	})
	if !ok {
		return nil
	}
	out := map[string]ebpf.ProgramStats{}
	for name, p := range s.Programs() {
		st, err := p.Stats()
		if err != nil {
			fail("stats of %s: %v", name, err)
		}
		out[name] = *st
	}
	return out
}

func (l *loadedSensor) stop() (string, error) {
	errs := []error{l.sensor.Close(), l.ring.Stop(), <-l.done}
	losses, err := l.ring.Losses()
	errs = append(errs, err, l.ring.Close())
	var dropped uint64
	for _, loss := range losses {
		if loss.Reason != ring.Truncated {
			dropped += loss.Count
		}
	}
	return strconv.FormatUint(dropped, 10), errors.Join(errs...)
}

// othersOnSyscalls counts the programs other processes have attached to
// syscall tracepoints, as bpftool lists them. While any is attached, every
// system call takes the kernel's syscall-tracing path, the baseline's too,
// and the sensors' own tracepoints add nothing on top for unwatched calls.
func othersOnSyscalls() string {
	out, err := exec.Command("bpftool", "perf", "list").Output()
	if err != nil {
		return "?"
	}
	self := fmt.Sprintf("pid %d ", os.Getpid())
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, self) && (strings.Contains(line, "sys_enter") || strings.Contains(line, "sys_exit")) {
			n++
		}
	}
	return strconv.Itoa(n)
}
