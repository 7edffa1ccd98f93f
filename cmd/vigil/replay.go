package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
	"github.com/vigil-sec/vigil/internal/rule"
)

type replayFlags struct {
	rules  ruleFlags
	events string
	format string
	output string
}

func newReplayCmd() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay FILE...",
		Short: "Run rules over recorded events and print the alerts",
		Long: `Replay reads events recorded as JSON lines (vigil record, or vigil run
--format json --events all) and runs the rules over them, in order, exactly as
the agent would have: throttling and stateful rules use the events' own times,
so the same input gives the same alerts every time. Alert lines in the input
are skipped. A line that is not an event is reported with its file and line,
counted, and makes replay exit with status 1 after the rest is processed.
"-" reads standard input.`,
		Example: `  # what would the default pack have said about yesterday?
  vigil replay /var/log/vigil/events.json

  # try new rules on a recording, without the default pack
  vigil replay --no-default-rules --rules ./candidate.yaml capture.json

  # alerts and the events around them, readable
  vigil replay --events all --format text capture.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return replay(f, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	f.rules.register(fl)
	fl.StringVar(&f.events, "events", "alerts", "what to print: alerts, or all (the events too)")
	fl.StringVar(&f.format, "format", "", "output format: json or text (default: text on a terminal, json otherwise)")
	fl.StringVarP(&f.output, "output", "o", "", "write to this file (mode 0600, appended) instead of stdout")
	return cmd
}

func replay(f replayFlags, files []string, stdin io.Reader, stdout, stderr io.Writer) error {
	// the summary names rules and quotes their errors: escaped for a terminal
	stderr = termsafe.NewWriter(stderr)
	if f.events != "all" && f.events != "alerts" {
		return fmt.Errorf("--events %q: want all or alerts", f.events)
	}
	format := output.FormatJSON
	if f.format != "" {
		var err error
		if format, err = output.ParseFormat(f.format); err != nil {
			return err
		}
	} else if f.output == "" && isTerminal(stdout) {
		format = output.FormatText
	}
	eng, err := f.rules.engine()
	if err != nil {
		return err
	}
	if eng == nil {
		return errors.New("no rules: drop --no-default-rules or give --rules")
	}
	var sink output.Sink = output.NewStream(stdout, format)
	if f.output != "" && f.output != "-" {
		if sink, err = output.OpenFile(f.output, format); err != nil {
			return err
		}
	}
	defer func() { _ = sink.Close() }() // for the early returns: the last Close below is checked
	st := replayStats{}
	var alerts []*event.Alert
	for _, name := range files {
		if err := replayFile(name, stdin, eng, sink, f.events == "all", &alerts, &st, stderr); err != nil {
			return err
		}
	}
	alerts = eng.Drain(alerts[:0])
	if err := writeAlerts(sink, alerts, &st); err != nil {
		return err
	}
	if err := sink.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "replayed %d events from %d files: %d alerts (%d matches suppressed by throttling); skipped %d alert lines; %d lines were not events\n",
		st.events, len(files), st.alerts, st.suppressed, st.alertLines, st.malformed)
	for _, r := range eng.Stats().Rules {
		if r.Errors > 0 {
			fmt.Fprintf(stderr, "rule %s: %d evaluation errors, last: %s\n", r.Name, r.Errors, r.LastError)
		}
	}
	if st.malformed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d input lines were not events", st.malformed)}
	}
	return nil
}

type replayStats struct {
	events, alerts, suppressed, alertLines, malformed uint64
}

func replayFile(name string, stdin io.Reader, eng *rule.Engine, sink output.Sink, all bool,
	alerts *[]*event.Alert, st *replayStats, stderr io.Writer) error {
	in := stdin
	if name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		defer func() { _ = file.Close() }() // read-only
		in = file
	}
	r := rule.NewEventReader(in, name)
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var lerr *rule.LineError
		if errors.As(err, &lerr) {
			if r.Malformed <= 10 {
				fmt.Fprintln(stderr, "vigil: skipped:", lerr)
			}
			continue
		}
		if err != nil {
			return err
		}
		st.events++
		if all {
			if err := sink.Write(ev); err != nil {
				return err
			}
		}
		*alerts = eng.Eval(ev, (*alerts)[:0])
		if err := writeAlerts(sink, *alerts, st); err != nil {
			return err
		}
	}
	st.alertLines += r.Alerts
	st.malformed += r.Malformed
	return nil
}

func writeAlerts(sink output.Sink, alerts []*event.Alert, st *replayStats) error {
	for _, al := range alerts {
		st.alerts++
		st.suppressed += al.Suppressed
		if err := sink.WriteAlert(al); err != nil {
			return err
		}
	}
	return nil
}
