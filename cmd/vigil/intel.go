package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

func newIntelCmd() *cobra.Command {
	var socket string
	cmd := &cobra.Command{
		Use:   "intel",
		Short: "Show the threat-intelligence sources of the running agent, and check values against them",
		Long: `The agent acts on indicators of compromise from MISP feeds, a MISP instance's
REST API, plain lists and MISP's kunai export (vigil run --intel, or the
config file's intel section; docs/intel.md). These commands ask it what it
loaded, from where and when, and whether a value would hit.`,
		Example: `  # the sources, what they loaded and when
  sudo vigil intel list

  # refreshes, failures, memory, and what the indicators hit
  sudo vigil intel stats

  # would this hash, address, domain or URL hit? (exit status 0 if it would, 3 if not)
  sudo vigil intel check 203.0.113.7:443
  sudo vigil intel check https://bad.example.com/payload`,
	}
	cmd.PersistentFlags().StringVar(&socket, "socket", config.DefaultSocket, "the agent's API socket (vigil run --socket)")
	list := intelReportCmd(&socket, "list", "List the sources: kind, mode, indicators loaded, last refresh", writeIntelList)
	stats := intelReportCmd(&socket, "stats", "Refreshes, failures, memory and hits of each source", writeIntelStats)
	check := &cobra.Command{
		Use:   "check VALUE",
		Short: "Say whether a hash, an address, a domain or a URL would hit, and which indicators",
		Long: `check reads the value as a feed lists it (a digest by its length, an address
with an optional port, a URL's host, or a domain, which covers its subdomains)
and prints the indicators in force it hits, with their provenance and what a
hit does. The exit status is 0 when it hits, 3 when it does not.`,
		Example: `  sudo vigil intel check 44d88612fea8a8f36de82e1278abb02f
  sudo vigil intel check '[2001:db8::1]:443'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := policyContext(cmd)
			defer cancel()
			res, err := api.NewClient(socket).IntelCheck(ctx, args[0])
			if err != nil {
				return err
			}
			if err := writeIntelCheck(cmd.OutOrStdout(), res); err != nil {
				return err
			}
			if len(res.Matches) == 0 {
				return &exitError{code: 3, err: errSilent}
			}
			return nil
		},
	}
	refresh := &cobra.Command{
		Use:     "refresh [SOURCE]",
		Short:   "Refresh a source (or all) now; a refused refresh keeps the last good set",
		Example: `  sudo vigil intel refresh circl-osint`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := policyContext(cmd)
			defer cancel()
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return api.NewClient(socket).IntelRefresh(ctx, name)
		},
	}
	cmd.AddCommand(list, stats, check, refresh)
	return cmd
}

// errSilent is an exit status with nothing more to say.
var errSilent = errors.New("")

// intelReportCmd is a subcommand that prints the agent's intel report.
func intelReportCmd(socket *string, use, short string, write func(io.Writer, api.IntelReport) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Example: "  sudo vigil intel " + use, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := policyContext(cmd)
			defer cancel()
			rep, err := api.NewClient(*socket).IntelReport(ctx)
			if err != nil {
				return err
			}
			return write(cmd.OutOrStdout(), rep)
		},
	}
}

// Every string below comes from a feed or the configuration: escaped.
var esc = termsafe.Escape

func writeIntelList(w io.Writer, rep api.IntelReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%d indicators in force; scope %s", rep.Indicators, esc(rep.Scope))
	if len(rep.Interfaces) > 0 {
		fmt.Fprintf(tw, "; packets dropped on %s", esc(strings.Join(rep.Interfaces, ", ")))
	}
	fmt.Fprintln(tw)
	if rep.ApplyError != "" {
		fmt.Fprintf(tw, "the kernel refused the last set (the previous one stays in force): %s\n", esc(rep.ApplyError))
	}
	fmt.Fprintln(tw, "\nSOURCE\tKIND\tMODE\tLOADED\tLAST SUCCESS\tEVERY\tURL")
	for _, s := range rep.Sources {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", esc(s.Name), esc(s.Kind), esc(s.Mode), loaded(s.Loaded),
			when(s.LastSuccess), esc(s.Interval), esc(s.URL))
		if s.LastError != "" {
			fmt.Fprintf(tw, "  last refresh failed (%s): %s\t\t\t\t\t\t\n", when(s.LastAttempt), esc(s.LastError))
		}
	}
	return tw.Flush()
}

func writeIntelStats(w io.Writer, rep api.IntelReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tREFRESHES\tUNCHANGED\tFAILURES\tMEMORY\tLAST ATTEMPT\tPOLICY\tCONFIGURED AT")
	for _, s := range rep.Sources {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", esc(s.Name), s.Refreshes, s.Unchanged, s.Failures,
			bytesOf(s.Bytes), when(s.LastAttempt), esc(s.Policy), esc(s.Source))
	}
	fmt.Fprintf(tw, "\nbinaries hashed for md5/sha1/sha512: %d; execs left unchecked (queue full): %d\n", rep.Hashed, rep.HashDropped)
	fmt.Fprintf(tw, "DNS alerts held back by the throttle: %d; sets the kernel refused: %d\n", rep.DNSSuppressed, rep.ApplyFailures)
	if len(rep.Packets) > 0 {
		fmt.Fprintln(tw, "\nPREFIX\tDROPPED\tWOULD DROP\tSOURCE\tEVENT\tATTRIBUTE")
		for _, p := range rep.Packets {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", esc(p.Prefix), p.Dropped, p.WouldDrop, esc(p.Intel.Source),
				esc(cmp.Or(p.Intel.EventUUID, "-")), esc(cmp.Or(p.Intel.AttributeUUID, "-")))
		}
	}
	if len(rep.Hits) > 0 {
		fmt.Fprintln(tw, "\nSOURCE\tTYPE\tACTION\tHITS")
		for _, h := range rep.Hits {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", esc(h.Source), esc(h.Type), esc(h.Action), h.Count)
		}
	}
	return tw.Flush()
}

func writeIntelCheck(w io.Writer, res api.IntelCheck) error {
	as := esc(res.As)
	if res.Port != 0 {
		as += fmt.Sprintf(" port %d", res.Port)
	}
	if len(res.Matches) == 0 {
		_, err := fmt.Fprintf(w, "%s (read as %s): no indicator\n", esc(res.Value), as)
		return err
	}
	fmt.Fprintf(w, "%s (read as %s): %d indicator(s)\n", esc(res.Value), as, len(res.Matches))
	for _, m := range res.Matches {
		fmt.Fprintf(w, "\n  source %s (%s): %s\n", esc(m.Source), esc(m.Mode), esc(m.Action))
		fmt.Fprintf(w, "    indicator   %s %s\n", esc(m.Type), esc(m.Value))
		if m.AttributeType != "" || m.AttributeValue != "" {
			fmt.Fprintf(w, "    attribute   %s %s %s\n", esc(m.AttributeType), esc(m.AttributeValue), esc(m.AttributeUUID))
		}
		if m.EventUUID != "" || m.EventInfo != "" {
			fmt.Fprintf(w, "    event       %s %s\n", esc(m.EventUUID), esc(m.EventInfo))
		}
		if len(m.Tags) > 0 {
			fmt.Fprintf(w, "    tags        %s\n", esc(strings.Join(m.Tags, ", ")))
		}
		if len(m.Techniques) > 0 {
			fmt.Fprintf(w, "    mitre       %s\n", esc(strings.Join(m.Techniques, ", ")))
		}
	}
	return nil
}

// intelLine is vigil status's line for intel.
func intelLine(in api.IntelSummary) string {
	s := fmt.Sprintf("intel %d sources, %d indicators, last update %s", in.Sources, in.Indicators, when(in.LastUpdate))
	if in.Failing > 0 {
		s += fmt.Sprintf(", %d failing (vigil intel list)", in.Failing)
	}
	if in.ApplyError != "" {
		s += "; kernel refused the last set: " + esc(in.ApplyError)
	}
	return s
}

func loaded(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", esc(t), m[t]))
	}
	return strings.Join(parts, ", ")
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format(time.DateTime)
}

func bytesOf(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
