package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

func newStatusCmd() *cobra.Command {
	var socket, format string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what the running agent does: sensors, rules, rates, drops, outputs",
		Long: `status asks the running agent, over its local API, for its version and uptime,
its sensors and how they run (full, degraded or off), how many rules and
policies it loaded, how many events it handles per second, what it dropped
and where, and whether each output keeps up.`,
		Example: `  sudo vigil status
  sudo vigil status --format json | jq .drops
  sudo vigil status --socket /tmp/vigil.sock`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(commandContext(cmd), 10*time.Second)
			defer cancel()
			st, err := api.NewClient(socket).Status(ctx)
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), st)
			}
			return writeStatus(cmd.OutOrStdout(), st)
		},
	}
	cmd.Flags().StringVar(&socket, "socket", config.DefaultSocket, "the agent's API socket (vigil run --socket)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// writeStatus prints st for people. Strings come from the agent, and some
// of them (an output's last error) from what it handled: they are escaped,
// which also keeps a tab from breaking the columns.
func writeStatus(w io.Writer, st api.Status) error {
	esc := termsafe.Escape
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	up := time.Duration(st.UptimeSeconds * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(tw, "vigil %s on %s, pid %d, up %s (since %s)\n", esc(st.Version), esc(st.Node), st.PID, up,
		st.Started.Local().Format(time.DateTime))
	fmt.Fprintf(tw, "rules %d, policies %d; events %.1f/s, %d in all; %d live streams\n",
		st.Rules, st.Policies, st.Events.PerSecond, st.Events.Total, st.Subscribers)
	if st.MetricsAddress != "" {
		stats := "off"
		if st.BPFStats {
			stats = "on"
		}
		fmt.Fprintf(tw, "metrics http://%s/metrics (bpf stats %s)\n", esc(st.MetricsAddress), stats)
	}
	if in := st.Intel; in != nil {
		fmt.Fprintln(tw, intelLine(*in))
	}

	fmt.Fprintln(tw, "\nSENSOR\tMODE")
	for _, s := range st.Sensors {
		fmt.Fprintf(tw, "%s\t%s\n", esc(s.Name), esc(s.Mode))
	}

	d := st.Drops
	fmt.Fprintln(tw, "\nDROPPED\tCOUNT")
	var reasons []string
	for r := range d.Kernel {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(tw, "kernel %s\t%d\n", esc(r), d.Kernel[r])
	}
	if len(reasons) == 0 {
		fmt.Fprintf(tw, "kernel\t0\n")
	}
	fmt.Fprintf(tw, "truncated (delivered, cut short)\t%d\n", d.Truncated)
	fmt.Fprintf(tw, "malformed records\t%d\n", d.Malformed)
	fmt.Fprintf(tw, "outputs\t%d\n", d.Outputs)
	fmt.Fprintf(tw, "live streams\t%d\n", d.Streams)

	fmt.Fprintln(tw, "\nOUTPUT\tTYPE\tHEALTH\tQUEUE\tWRITTEN\tDROPPED\tERRORS\tLAST ERROR")
	for _, o := range st.Outputs {
		health := "ok"
		if !o.Healthy {
			health = "FAILING"
		}
		last := "-"
		if o.LastError != "" {
			last = fmt.Sprintf("%s ago: %s", time.Since(o.LastErrorTime).Round(time.Second), oneLine(o.LastError, 60))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%d\t%d\t%s\n", esc(o.Name), esc(o.Type), health, o.QueueDepth, o.QueueCapacity,
			o.Written, o.QueueDropped+o.SinkDropped, o.Errors, last)
	}
	return tw.Flush()
}

// oneLine shortens s to max runes on one line, escaped.
func oneLine(s string, max int) string {
	s = termsafe.Escape(strings.ReplaceAll(s, "\n", " "))
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
