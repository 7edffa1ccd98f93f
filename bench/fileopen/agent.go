package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
)

// agentRun is the whole agent (`vigil run` with its default configuration,
// alerts to a file), started for a block of runs: what a user's open+close
// pays with every sensor and the enforce stage loaded, not the file sensor
// alone. Its enforcement is pinned apart from any agent of the host's.
type agentRun struct {
	cmd    *exec.Cmd
	log    *bytes.Buffer
	pinDir string
	exited chan struct{}
}

func startAgent(bin, dir string) (*agentRun, error) {
	pinDir := fmt.Sprintf("/sys/fs/bpf/h19m-fileopen-%d", os.Getpid())
	cmd := exec.Command(bin, "run", "--format", "json", "--output", filepath.Join(dir, "agent.json"),
		"--socket", "", "--watch-config=false", "--pin-dir", pinDir, "--state-dir", "")
	log := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	a := &agentRun{cmd: cmd, log: log, pinDir: pinDir, exited: exited}
	go func() { _ = cmd.Wait(); close(exited) }()
	for deadline := time.Now().Add(3 * time.Minute); !strings.Contains(log.String(), "msg=started"); {
		select {
		case <-exited:
			return nil, fmt.Errorf("agent exited before it started:\n%s", log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = a.stop()
			return nil, errors.New("agent did not start within 3 minutes")
		}
	}
	return a, nil
}

// stop ends the agent as a user would and removes its pins.
func (a *agentRun) stop() error {
	defer os.RemoveAll(a.pinDir)
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(2 * time.Minute):
		_ = a.cmd.Process.Kill()
		return errors.New("agent did not stop within 2 minutes")
	}
	if !strings.Contains(a.log.String(), "vigil stopped") {
		return fmt.Errorf("agent printed no summary:\n%s", a.log.String())
	}
	return nil
}

// progRuns is every loaded BPF program's run count and time, by id.
type progRuns map[ebpf.ProgramID]progStats

// allPrograms reads the statistics of every BPF program of the machine
// (zero without -bpf-stats): the agent's, and other helpers' too, which
// are told apart by name in the report.
func allPrograms() (progRuns, map[ebpf.ProgramID]string) {
	runs, names := progRuns{}, map[ebpf.ProgramID]string{}
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			return runs, names
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		if info, err := p.Info(); err == nil {
			names[id] = info.Name
		}
		if st, err := p.Stats(); err == nil {
			runs[id] = progStats{st.RunCount, uint64(st.Runtime)}
		}
		_ = p.Close()
	}
}

// programsOn says which programs ran while a loop of n calls ran, and how
// often and long per call: those whose runs grew by at least n/2.
func programsOn(before, after progRuns, names map[ebpf.ProgramID]string, n int) []string {
	var out []string
	for id, a := range after {
		b := before[id]
		if a.runs-b.runs < uint64(n/2) {
			continue
		}
		runs := a.runs - b.runs
		out = append(out, fmt.Sprintf("%s: %.2f runs/call, %d ns/run", names[id], float64(runs)/float64(n), (a.ns-b.ns)/max(runs, 1)))
	}
	slices.Sort(out)
	return out
}

// printAgent is the whole agent's table: each file's open+close (and
// getppid) against the baseline of the same round, and with -bpf-stats
// the programs that ran on the unwatched calls.
func (r *results) printAgent(w io.Writer, t tree) {
	fmt.Fprintln(w, "\nThe whole agent (vigil run, default configuration), same rounds:")
	fmt.Fprintln(w, "\n| operation | baseline | agent | agent extra | agent ÷ baseline | fastest agent − fastest baseline |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, tg := range []target{t.getppid, t.other, t.beside, t.watched} {
		base, _, _ := r.cost("base", tg.name)
		v, vx, vr := r.cost("agent", tg.name)
		fmt.Fprintf(w, "| %s | %v | %v | %s | %.3f | %s |\n", tg.name, base, v, signed(vx), vr, signed(r.fastest("agent", tg.name)))
	}
	for _, tg := range []target{t.other, t.beside} {
		if progs := r.agentProgs[tg.name]; len(progs) > 0 {
			fmt.Fprintf(w, "\nPrograms that ran on the %q loop (last round; kernel BPF statistics):\n\n", tg.name)
			for _, p := range progs {
				fmt.Fprintln(w, "- "+p)
			}
		}
	}
}
