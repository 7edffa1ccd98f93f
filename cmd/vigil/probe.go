package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

func newProbeCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Report what this kernel offers and how each vigil capability runs on it",
		Long: `probe loads and attaches small real eBPF programs (tp_btf, raw_tp, fentry, LSM,
kprobes, cgroup hooks, XDP, tcx, task iterators, ...) and reports what the kernel
accepts and why it refuses the rest. A throwaway child makes one 32-bit system
call ("int $0x80"), which some kernels refuse with SIGSEGV: where such calls
exist, they are a path the syscall tracepoints do not show. It then says, for each vigil capability,
whether it runs fully, degraded (and how) or not at all, the performance
observers (--observe) included: each is loaded and attached for real.

Nothing is left behind: every program, link and temporary cgroup is removed, and
no host interface is touched. probe mounts nothing: while tracefs is not mounted,
classic tracepoints are reported as unavailable for that reason.

Missing features are part of the report: the exit code is 0 unless probing
itself cannot run.`,
		Example: `  sudo vigil probe
  sudo vigil probe --format json | jq '.capabilities[] | select(.status != "full")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			report, err := kernel.Probe(commandContext(cmd))
			var notRoot *kernel.NotPrivilegedError
			if errors.As(err, &notRoot) {
				return errors.New("vigil probe needs root: rerun with sudo")
			}
			if err != nil {
				return fmt.Errorf("probe: %w", err)
			}
			report.Capabilities = append(report.Capabilities, probeObservers()...)
			// how vigil run, as it is started by default, watches module loads
			_, modules := kernel.ModuleWatch(kernel.ModuleFactsHere(false))
			report.Capabilities = append(report.Capabilities, modules)
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), report)
			}
			return writeProbeTable(termsafe.NewWriter(cmd.OutOrStdout()), report)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// writeProbeTable prints features under their group, then capabilities,
// all in one set of aligned columns.
func writeProbeTable(w io.Writer, report kernel.Report) error {
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "kernel %s\n\n", report.Kernel)

	fmt.Fprintln(tw, "FEATURE\tAVAILABLE\tDETAIL")
	var group kernel.Group
	for _, f := range report.Features {
		if f.Group != group {
			group = f.Group
			fmt.Fprintf(tw, "%s\t\t\n", group)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Name, yesNo(f.Available), f.Detail)
	}

	fmt.Fprintln(tw, "\t\t")
	fmt.Fprintln(tw, "CAPABILITY\tSTATUS\tHOW / WHY")
	for _, c := range report.Capabilities {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Status, c.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Group headings and the spacer line are padded to the column widths
	// (a line without cells would restart the alignment): trim the padding.
	for line := range strings.Lines(table.String()) {
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " \n")); err != nil {
			return err
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
