// Command vigil is the eBPF runtime security agent and its command-line tools.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "vigil:", err)
		os.Exit(exitCode(err))
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "vigil",
		Short: "eBPF runtime security agent for Linux hosts and Kubernetes nodes",
		Long: `vigil watches processes, files, network and privilege changes in the kernel
with eBPF, detects attacks with readable rules, and exports what it sees.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newRunCmd(),
		newProbeCmd(),
		newEventsCmd(),
		newStatusCmd(),
		newRulesCmd(),
		newReplayCmd(),
		newRecordCmd(),
		newVersionCmd(),
	)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print vigil's version",
		Example: "  vigil version",
		Args:    cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), version)
		},
	}
}
