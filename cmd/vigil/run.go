package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/sensor/ring"
)

type runFlags struct {
	format        string
	events        string
	output        string
	ringSize      string
	flushInterval time.Duration
	procCache     int
	exitGrace     time.Duration
	ancestors     int
	cgroup        string
	node          string
	logLevel      string
	cpuProfile    string
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent: watch the kernel and print what happens",
		Long: `Run loads vigil's eBPF sensors, snapshots the processes already running,
and prints one line per event until it is stopped with SIGINT or SIGTERM.
It then detaches everything, flushes, and prints a summary of what it saw
and dropped to stderr. It needs root.`,
		Example: `  # watch this host, readable lines on a terminal
  sudo vigil run

  # JSON lines into a file, for another tool to read
  sudo vigil run --format json --output /var/log/vigil/events.json

  # only what happens inside one cgroup (v2) and its children
  sudo vigil run --cgroup system.slice/nginx.service`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgent(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "", "output format: json or text (default: text on a terminal, json otherwise)")
	fl.StringVar(&f.events, "events", "all", "what to print: all (every event) or alerts (rule matches only)")
	fl.StringVarP(&f.output, "output", "o", "", "write to this file (mode 0600, appended) instead of stdout")
	fl.StringVar(&f.ringSize, "ring-buffer", "8MiB", "kernel ring buffer size, a power of two (e.g. 4MiB, 16MiB)")
	fl.DurationVar(&f.flushInterval, "flush-interval", 5*time.Millisecond, "longest time an event waits in the ring buffer on an idle system")
	fl.IntVar(&f.procCache, "proc-cache-size", proctree.DefaultConfig().MaxEntries, "most processes the process cache holds")
	fl.DurationVar(&f.exitGrace, "exit-grace", proctree.DefaultConfig().ExitGrace, "how long exited processes stay in the process cache")
	fl.IntVar(&f.ancestors, "ancestors", proctree.DefaultConfig().AncestorDepth, "ancestors listed above the parent in each event")
	fl.StringVar(&f.cgroup, "cgroup", "", "only watch this cgroup v2 directory and its children (path below the cgroup2 mount)")
	fl.StringVar(&f.node, "node", "", "node name in events (default: the hostname)")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level on stderr: debug, info, warn, error")
	fl.StringVar(&f.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the agent to this file")
	_ = fl.MarkHidden("cpu-profile") // for developers chasing the agent's own cost
	return cmd
}

func runAgent(ctx context.Context, f runFlags, stdout, stderr io.Writer) error {
	if os.Geteuid() != 0 {
		return errors.New("vigil run needs root to load eBPF programs: rerun with sudo")
	}
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		return err
	}
	if f.events != "all" && f.events != "alerts" {
		return fmt.Errorf("--events %q: want all or alerts", f.events)
	}
	format, err := pickFormat(f.format, f.output, stdout)
	if err != nil {
		return err
	}
	ringSize, err := parseSize(f.ringSize)
	if err != nil {
		return fmt.Errorf("--ring-buffer: %w", err)
	}
	sink, err := openSink(f.output, format, stdout)
	if err != nil {
		return err
	}
	defer sink.Close()

	rc := ring.DefaultConfig()
	rc.Size = ringSize
	rc.FlushInterval = f.flushInterval
	a, err := agent.New(agent.Config{
		Node:     f.node,
		Ring:     rc,
		ProcTree: proctree.Config{MaxEntries: f.procCache, ExitGrace: f.exitGrace, AncestorDepth: f.ancestors},
		Cgroup:   f.cgroup,
		Sink:     sink,
		Log:      log,
	})
	if err != nil {
		return err
	}
	if f.cpuProfile != "" {
		stopProfile, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	runErr := a.Run(ctx)
	summary, sumErr := a.Summary()
	fmt.Fprintln(stderr, summary)
	return errors.Join(runErr, sumErr, a.Close(), sink.Close())
}

func openSink(path string, format output.Format, stdout io.Writer) (output.Sink, error) {
	if path == "" || path == "-" {
		return output.NewStream(stdout, format), nil
	}
	return output.OpenFile(path, format)
}

// pickFormat: text for people at a terminal, JSON for everything else.
func pickFormat(flag, path string, stdout io.Writer) (output.Format, error) {
	if flag != "" {
		return output.ParseFormat(flag)
	}
	if path == "" && isTerminal(stdout) {
		return output.FormatText, nil
	}
	return output.FormatJSON, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// parseSize reads "8MiB", "512KiB", "8M" or a plain byte count.
func parseSize(s string) (int, error) {
	units := []struct {
		suffix string
		mult   int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}}
	mult := 1
	num := strings.TrimSpace(s)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = rest, u.mult
			break
		}
	}
	var n int
	if _, err := fmt.Sscanf(num, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != num {
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional KiB, MiB or GiB", s)
	}
	return n * mult, nil
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
