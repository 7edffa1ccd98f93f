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
		Example: `  # can this kernel run vigil, and with which sensors?
  sudo vigil probe

  # run the agent: alerts of the default rules on stdout
  sudo vigil run

  # watch what the running agent sees, and how it is doing
  sudo vigil events --kind process_exec
  sudo vigil status

  # check your own rules before deploying them
  vigil rules validate ./my-rules/`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newRunCmd(),
		newProbeCmd(),
		newEventsCmd(),
		newStatusCmd(),
		newRulesCmd(),
		newPolicyCmd(),
		newReplayCmd(),
		newRecordCmd(),
		newVersionCmd(),
	)
	// cobra adds help and completion when the command runs; adding them
	// now lets them have examples like every other command
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = `  vigil help events
  vigil help rules validate`
		case "completion":
			c.Example = `  # bash, for this shell
  source <(vigil completion bash)

  # bash, for every new shell
  vigil completion bash | sudo tee /etc/bash_completion.d/vigil

  # zsh (with compinit), fish
  vigil completion zsh > "${fpath[1]}/_vigil"
  vigil completion fish > ~/.config/fish/completions/vigil.fish`
			for _, shell := range c.Commands() {
				shell.Example = map[string]string{
					"bash":       "  source <(vigil completion bash)",
					"zsh":        `  vigil completion zsh > "${fpath[1]}/_vigil"`,
					"fish":       "  vigil completion fish | source",
					"powershell": "  vigil completion powershell | Out-String | Invoke-Expression",
				}[shell.Name()]
			}
		}
	}
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
