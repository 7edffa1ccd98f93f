package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/top"
)

func newTopCmd() *cobra.Command {
	var url, format, sortBy string
	var interval time.Duration
	var once bool
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Show containers by CPU, run-queue latency, I/O and network RTT, live",
		Long: `top reads the running agent's metrics endpoint every interval and shows, per
container, what changed since the scrape before: CPU (on-CPU time as a share
of one core, and CFS throttling), run-queue latency (p50 and p99), block I/O
(bytes and operations per second, p99 latency), TCP round-trip time (p99) and
retransmits, memory use and OOM kills (since the agent started, and in the
interval). The agent must run with its observers on and its metrics served
(vigil run --observe … --metrics-addr :9549, the address top reads by default).

On a terminal the view is redrawn in place and the keys c, r, i and n sort by
CPU, run queue, I/O and RTT, q quits. Written to a pipe or a file, each refresh
is appended as plain lines. --once shows one refresh, two scrapes an interval
apart, and exits; --format json writes a line of JSON per refresh.`,
		Example: `  # during an incident, on the node
  vigil top
  vigil top --sort runq --interval 5s

  # for scripts: one refresh, as JSON
  vigil top --once --format json | jq '.containers[0]'

  # an agent whose metrics listen elsewhere
  vigil top --metrics-url http://127.0.0.1:9600/metrics`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			key, err := top.ParseSortKey(sortBy)
			if err != nil {
				return err
			}
			if interval <= 0 {
				return fmt.Errorf("--interval %s: want a positive duration, such as 2s", interval)
			}
			ctx, stop := signal.NotifyContext(commandContext(cmd), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			o := top.Options{URL: url, Interval: interval, Sort: key, JSON: format == "json", Once: once,
				Live: !once && format == "text" && isTerminal(out), Out: out,
				Client: &http.Client{Timeout: min(interval, 10*time.Second)}}
			if o.Live {
				restore, err := liveTerminal(ctx, out, &o)
				if err != nil {
					return err
				}
				defer restore()
			}
			return top.Run(ctx, o)
		},
	}
	cmd.Flags().StringVar(&url, "metrics-url", "http://"+config.DefaultMetricsAddress+"/metrics",
		"the agent's metrics endpoint (vigil run --metrics-addr)")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "time between refreshes")
	cmd.Flags().StringVar(&sortBy, "sort", string(top.SortCPU), "sort by cpu, runq (p99), io (bytes/s) or rtt (p99), highest first")
	cmd.Flags().BoolVar(&once, "once", false, "show one refresh and exit")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// liveTerminal prepares the terminal out for the live view: the
// alternate screen (the shell's screen comes back when top exits), no
// cursor, the terminal's height read at each refresh, and, when stdin is
// a terminal too, its keys delivered one at a time without echo. The
// returned function puts everything back.
func liveTerminal(ctx context.Context, out io.Writer, o *top.Options) (func(), error) {
	fd := int(out.(*os.File).Fd())
	o.Height = func() int {
		ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		if err != nil || ws.Row == 0 {
			return 24
		}
		return int(ws.Row)
	}
	if _, err := io.WriteString(out, "\x1b[?1049h\x1b[?25l"); err != nil {
		return nil, err
	}
	screen := func() { io.WriteString(out, "\x1b[?25h\x1b[?1049l") } //nolint:errcheck // best effort on the way out
	in := int(os.Stdin.Fd())
	saved, err := unix.IoctlGetTermios(in, unix.TCGETS)
	if err != nil {
		return screen, nil // stdin is not a terminal: no keys, the view still runs
	}
	raw := *saved
	// no line buffering, no echo; ^C stays a signal (ISIG kept)
	raw.Lflag &^= unix.ICANON | unix.ECHO
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(in, unix.TCSETS, &raw); err != nil {
		return screen, nil
	}
	keys := make(chan byte)
	o.Keys = keys
	// the reader ends with the process: a read on a terminal cannot be
	// interrupted portably, and top exits when Run returns
	go func() {
		b := make([]byte, 1)
		for {
			if n, err := os.Stdin.Read(b); err != nil || n == 0 {
				return
			}
			select {
			case keys <- b[0]:
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		unix.IoctlSetTermios(in, unix.TCSETS, saved) //nolint:errcheck // best effort on the way out
		screen()
	}, nil
}
