package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
)

type eventsFlags struct {
	socket     string
	output     string
	color      string
	what       string
	kinds      []string
	rules      []string
	severity   string
	pids       []uint
	binaries   []string
	containers []string
}

func newEventsCmd() *cobra.Command {
	var f eventsFlags
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Stream live events and alerts from the running agent",
		Long: `events connects to the running agent's local API and prints its events and
alerts as they happen, until interrupted. The agent applies the filters, so
a narrow filter costs it little. Filters of one kind are alternatives (two
--kind flags: either kind); filters of different kinds must all match.

-o compact prints one line per event with an icon per kind:
` + iconLegend() + `
-o json prints the events as the schema in docs/events.md describes them,
one JSON object per line.

If this reader is too slow, the agent drops lines for it (never slowing
itself down) and vigil events says how many on stderr.`,
		Example: `  # everything, readable
  sudo vigil events

  # process starts of curl and wget, as JSON for jq
  sudo vigil events --kind process_exec --binary curl --binary wget -o json | jq .process.args

  # alerts of high severity or worse, from one container
  sudo vigil events --severity high --container 3f2a9c

  # what one process does
  sudo vigil events --pid 4242

  # alerts of the shell rules, JSON
  sudo vigil events --rule 'shell_*' -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return streamEvents(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.socket, "socket", config.DefaultSocket, "the agent's API socket (vigil run --socket)")
	fl.StringVarP(&f.output, "output", "o", "compact", "output: compact (one line per event, icons) or json")
	fl.StringVar(&f.color, "color", "auto", "colour compact lines: auto (on a terminal), always or never")
	fl.StringVar(&f.what, "type", "", "all, events or alerts (default: all; alerts when --rule or --severity is given)")
	fl.StringSliceVar(&f.kinds, "kind", nil, "event kind: process_exec, file_open, net_connect, … (repeatable; a wrong one lists them all)")
	fl.StringSliceVar(&f.rules, "rule", nil, "alerts of this rule; globs like shell_* work (repeatable)")
	fl.StringVar(&f.severity, "severity", "", "alerts of at least this severity: info, low, medium, high, critical")
	fl.UintSliceVar(&f.pids, "pid", nil, "what this process did (repeatable)")
	fl.StringSliceVar(&f.binaries, "binary", nil, "what this binary did: a path, a glob, or a bare name like curl (repeatable)")
	fl.StringSliceVar(&f.containers, "container", nil, "what happened in this container: an id prefix, a name, or host (repeatable)")
	return cmd
}

func (f eventsFlags) filter() (api.StreamFilter, error) {
	sf := api.StreamFilter{Events: true, Alerts: true, Rules: f.rules, Binaries: f.binaries, Containers: f.containers}
	if len(f.rules) > 0 || f.severity != "" {
		sf.Events = false
	}
	if f.what != "" {
		if err := sf.SetType(f.what); err != nil {
			return sf, fmt.Errorf("--type %w", err)
		}
	}
	for _, k := range f.kinds {
		kind, err := output.ParseKind(k)
		if err != nil {
			return sf, fmt.Errorf("--kind: %w", err)
		}
		sf.Kinds = append(sf.Kinds, kind)
	}
	if f.severity != "" {
		sev, err := output.ParseSeverity(f.severity)
		if err != nil {
			return sf, fmt.Errorf("--severity: %w", err)
		}
		sf.MinSeverity = sev
	}
	for _, p := range f.pids {
		if p == 0 || p > 1<<32-1 {
			return sf, fmt.Errorf("--pid %d: want a process id", p)
		}
		sf.PIDs = append(sf.PIDs, uint32(p))
	}
	return sf, nil
}

func streamEvents(ctx context.Context, f eventsFlags, stdout, stderr io.Writer) error {
	if f.output != "compact" && f.output != "json" {
		return fmt.Errorf("-o %q: want compact or json", f.output)
	}
	color, err := useColor(f.color, stdout)
	if err != nil {
		return err
	}
	filter, err := f.filter()
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	stream, err := api.NewClient(f.socket).Events(ctx, filter)
	if err != nil {
		return err
	}
	defer func() { _ = stream.Close() }() // read-only
	w := bufio.NewWriter(stdout)
	compact := output.Compact{Color: color}
	for {
		it, err := stream.Next()
		if err != nil {
			_ = w.Flush() // best effort: the stream's end is the news
			if ctx.Err() != nil {
				return nil // interrupted
			}
			if errors.Is(err, io.EOF) {
				fmt.Fprintln(stderr, "vigil events: the agent ended the stream (it stopped)")
				return nil
			}
			return fmt.Errorf("stream from %s: %w", f.socket, err)
		}
		switch {
		case it.Dropped > 0:
			_ = w.Flush() // a failure sticks: the next checked Flush returns it
			fmt.Fprintf(stderr, "vigil events: the agent dropped %d lines: this reader is too slow (narrow the filter)\n", it.Dropped)
			continue
		case f.output == "json":
			w.Write(it.Raw)
		case it.Alert != nil:
			w.WriteString(compact.Alert(it.Alert))
		case it.Drops != nil:
			w.WriteString(compact.Drops(it.Drops))
		default:
			w.WriteString(compact.Event(it.Event))
		}
		w.WriteByte('\n')
		// a live stream is read as it comes: flush unless more is waiting
		if !stream.More() {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
}

// iconLegend lists the compact format's icons, every kind that reaches an
// output with its label, kinds sharing an icon together, wrapped for a
// terminal.
func iconLegend() string {
	type entry struct{ icon, labels string }
	var entries []*entry
	byIcon := map[string]*entry{}
	for _, k := range append(output.Kinds(), event.KindAlert) {
		icon, label := output.KindIcon(k)
		if e := byIcon[icon]; e != nil {
			e.labels += "/" + label
			continue
		}
		e := &entry{icon, label}
		byIcon[icon] = e
		entries = append(entries, e)
	}
	var b strings.Builder
	width := 0
	for _, e := range entries {
		item := e.icon + " " + e.labels
		// icons are one rune but two columns wide
		w := 3 + utf8.RuneCountInString(e.labels)
		if width > 0 && width+2+w > 76 {
			b.WriteByte('\n')
			width = 0
		}
		b.WriteString("  ") // the indent of a line, or the gap after an item
		width += 2
		b.WriteString(item)
		width += w
	}
	return b.String()
}

func useColor(mode string, w io.Writer) (bool, error) {
	switch mode {
	case "auto":
		return isTerminal(w), nil
	case "always":
		return true, nil
	case "never":
		return false, nil
	}
	return false, fmt.Errorf("--color %q: want auto, always or never", mode)
}
