package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// bench holds what every measure shares: the agent's binary, a watched
// directory with one file a rule alerts on, and the cores.
type bench struct {
	vigil, dir       string
	watched, rules   string
	agentCPU, genCPU int
}

// ruleText alerts on every open of the benchmark's file; the default
// throttle lets a few alerts out and counts the rest, as in a real storm.
const ruleText = `- rule: v19p_bench_file_opened
  description: the pipeline benchmark's watched file was opened
  condition: kind == "file_open" && file.path.startsWith("%s/")
  severity: low
  tags: [T1005]
`

func (b *bench) setup() error {
	wd := filepath.Join(b.dir, "watched")
	if err := os.Mkdir(wd, 0o755); err != nil {
		return err
	}
	b.watched = filepath.Join(wd, "secret")
	if err := os.WriteFile(b.watched, []byte("x"), 0o600); err != nil {
		return err
	}
	b.rules = filepath.Join(b.dir, "rules.yaml")
	return os.WriteFile(b.rules, []byte(fmt.Sprintf(ruleText, wd)), 0o600)
}

// agent is one run of vigil, pinned to a core.
type agent struct {
	cmd *exec.Cmd
	out string
	log *bytes.Buffer
	// seen is what the output said so far, read up to offset
	seen   tally
	offset int64
}

func (b *bench) start(name string, extra ...string) (*agent, error) {
	out := filepath.Join(b.dir, name+".json")
	args := []string{"-c", strconv.Itoa(b.agentCPU), b.vigil, "run", "--format", "json", "--events", "all",
		"--output", out, "--socket", "", "--enforce=false", "--watch-config=false",
		"--watch-path", filepath.Dir(b.watched), "--rules", b.rules}
	args = append(args, extra...)
	cmd := exec.Command("taskset", args...)
	log := &bytes.Buffer{}
	cmd.Stderr, cmd.Stdout = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	a := &agent{cmd: cmd, out: out, log: log}
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(log.String(), "msg=started") {
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("agent did not start:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return a, nil
}

// stop ends the agent and waits for it: its last drop report is written.
func (a *agent) stop() error {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- a.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("agent: %w\n%s", err, a.log.String())
		}
		return nil
	case <-time.After(2 * time.Minute):
		_ = a.cmd.Process.Kill()
		return fmt.Errorf("agent did not stop")
	}
}

// cpu is the agent's CPU time so far, all threads.
func (a *agent) cpu() time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", a.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
}

// rss is the agent's resident memory in bytes.
func (a *agent) rss() uint64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// tally is what the agent's output says of the benchmark's file.
type tally struct {
	delivered uint64 // file_open events of the watched file
	// lost are the file_open losses in the kernel (of any file: the
	// kernel's counters do not say which) and every loss after it
	lost uint64
}

// count reads what the agent wrote since the last count, whole lines only.
func (b *bench) count(a *agent) (tally, error) {
	f, err := os.Open(a.out)
	if err != nil {
		if os.IsNotExist(err) {
			return a.seen, nil
		}
		return a.seen, err
	}
	defer f.Close()
	if _, err := f.Seek(a.offset, 0); err != nil {
		return a.seen, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	path := `"path":"` + b.watched + `"`
	t := &a.seen
	for {
		l, err := r.ReadBytes('\n')
		if err != nil {
			break // EOF, or a line still being written: read it next time
		}
		a.offset += int64(len(l))
		switch {
		case bytes.Contains(l, []byte(`"kind":"alert"`)):
			// an alert embeds its event: counted once, as the event
		case bytes.Contains(l, []byte(`"kind":"file_open"`)) && bytes.Contains(l, []byte(path)):
			t.delivered++
		case bytes.Contains(l, []byte(`"kind":"drops"`)):
			var d struct {
				Counts []struct {
					Stage, Kind string
					Count       uint64
				}
			}
			if err := json.Unmarshal(l, &d); err != nil {
				return *t, err
			}
			for _, c := range d.Counts {
				if c.Stage != "kernel" || c.Kind == "file_open" {
					t.lost += c.Count
				}
			}
		}
	}
	return *t, nil
}

// waitSettled polls the output until the watched file's events stop
// growing (or reach want) and returns them.
func (b *bench) waitSettled(a *agent, want uint64) (tally, error) {
	var last tally
	still := 0
	for still < 6 {
		time.Sleep(500 * time.Millisecond)
		t, err := b.count(a)
		if err != nil {
			return t, err
		}
		if t.delivered >= want {
			return t, nil
		}
		if t.delivered == last.delivered {
			still++
		} else {
			still = 0
		}
		last = t
	}
	return last, nil
}

// generate runs the load in a child process on the generator's core.
func (b *bench) generate(n, rate int) (made int, took time.Duration, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	cmd := exec.Command("taskset", "-c", strconv.Itoa(b.genCPU), self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=open %s %d %d", childEnv, b.watched, n, rate))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("generator: %w", err)
	}
	var ns int64
	if _, err := fmt.Sscanf(string(out), "%d %d", &made, &ns); err != nil {
		return 0, 0, fmt.Errorf("generator said %q", out)
	}
	return made, time.Duration(ns), nil
}
