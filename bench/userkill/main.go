// Command userkill measures how long a kill takes, from the exec to the
// process's death: a rule the kernel decides (a binary by path: SIGKILL in
// the exec hook, before the first instruction) against a rule only user
// space can decide (a command-line argument: the agent reads the exec from
// the ring, matches the rule, and kills through a pidfd).
//
// It runs the agent in this process with both rules, then alternates rounds
// of N execs of each kind. For each process it takes the time from Start to
// the reaped SIGKILL (what the victim sees), and for user-space kills also
// the latency the alert reports (event time to the signal: what the agent
// adds). Percentiles are over all processes of a kind.
//
//	go build -o bin/bench-userkill ./bench/userkill && sudo bin/bench-userkill -rounds 5 -n 200
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/rule"
)

func main() {
	rounds := flag.Int("rounds", 5, "rounds; each runs both kinds")
	n := flag.Int("n", 200, "processes per kind per round")
	flush := flag.Duration("flush-interval", ring.DefaultConfig().FlushInterval, "the agent's --flush-interval")
	flag.Parse()
	if err := run(*rounds, *n, *flush); err != nil {
		fmt.Fprintln(os.Stderr, "userkill:", err)
		os.Exit(1)
	}
}

type latencies struct {
	mu    sync.Mutex
	alert []time.Duration
}

func (l *latencies) Write(*event.Event) error { return nil }
func (l *latencies) WriteAlert(al *event.Alert) error {
	if e := al.Event.Enforcement; e != nil && e.Mechanism == event.MechanismUserspace && al.Action == event.ActionKilled {
		l.mu.Lock()
		l.alert = append(l.alert, time.Duration(e.LatencyNS))
		l.mu.Unlock()
	}
	return nil
}
func (l *latencies) WriteDrops(*event.Drops) error { return nil }
func (l *latencies) Flush() error                  { return nil }
func (l *latencies) Close() error                  { return nil }

func run(rounds, n int, flush time.Duration) error {
	dir, err := os.MkdirTemp("", "vigil-userkill-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "forbidden")
	raw, err := os.ReadFile("/bin/true")
	if err != nil {
		return err
	}
	if err := os.WriteFile(bin, raw, 0o755); err != nil {
		return err
	}
	marker := fmt.Sprintf("vigil-userkill-%d", time.Now().UnixNano())
	src := fmt.Sprintf(`
- rule: bench_kernel_kill
  description: bench
  condition: kind == "process_exec" && process.binary == %q
  severity: low
  action: kill
- rule: bench_userspace_kill
  description: bench
  condition: kind == "process_exec" && process.args.exists(a, a == %q)
  severity: low
  action: kill
`, bin, marker)
	rs, err := rule.Compile([]rule.Source{{Name: "bench.yaml", Data: []byte(src)}})
	if err != nil {
		return err
	}
	sink := &latencies{}
	pin := filepath.Join("/sys/fs/bpf", filepath.Base(dir))
	defer os.RemoveAll(pin)
	rc := ring.DefaultConfig()
	rc.FlushInterval = flush
	a, err := agent.New(agent.Config{Ring: rc, ProcTree: proctree.DefaultConfig(),
		Rules: rule.NewEngine(rs, rule.Config{}), Sink: sink,
		Enforce: &agent.EnforceConfig{PinDir: pin, StateDir: filepath.Join(dir, "state")},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done; a.Close() }()

	var kernel, user []time.Duration
	for r := range rounds {
		for _, kind := range order(r) {
			for range n {
				var cmd *exec.Cmd
				if kind == "kernel" {
					cmd = exec.Command(bin)
				} else {
					cmd = exec.Command("/bin/sh", "-c", "sleep 5", marker)
				}
				start := time.Now()
				err := cmd.Run()
				took := time.Since(start)
				if !killed(err) {
					return fmt.Errorf("%s kill: the process was not killed: %v", kind, err)
				}
				if kind == "kernel" {
					kernel = append(kernel, took)
				} else {
					user = append(user, took)
				}
			}
		}
	}
	time.Sleep(100 * time.Millisecond) // the last alerts
	sink.mu.Lock()
	alert := append([]time.Duration(nil), sink.alert...)
	sink.mu.Unlock()
	fmt.Printf("flush interval %v, %d rounds of %d processes per kind\n", flush, rounds, n)
	fmt.Printf("%-40s %10s %10s %10s\n", "", "p50", "p99", "max")
	report("kernel kill, Start → reaped SIGKILL", kernel)
	report("user-space kill, Start → reaped SIGKILL", user)
	report("user-space kill, event → SIGKILL (alert)", alert)
	fmt.Printf("user-space / kernel, p50: %.2f\n", float64(pct(user, 50))/float64(pct(kernel, 50)))
	return nil
}

func order(round int) []string {
	if round%2 == 0 {
		return []string{"kernel", "userspace"}
	}
	return []string{"userspace", "kernel"}
}

func killed(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(min(i, len(s))-1, 0)]
}

func report(what string, d []time.Duration) {
	fmt.Printf("%-40s %10v %10v %10v  (%d)\n", what, pct(d, 50).Round(time.Microsecond),
		pct(d, 99).Round(time.Microsecond), pct(d, 100).Round(time.Microsecond), len(d))
}
