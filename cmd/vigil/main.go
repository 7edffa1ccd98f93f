// Command vigil is the eBPF runtime security agent and its command-line tools.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

// version is set at build time with -ldflags "-X main.version=…" (the
// Makefile stamps git describe); builds without it (go build, go install,
// go run) get their version from the build info: see vigilVersion.
var version = ""

func main() {
	if err := newRootCmd().Execute(); err != nil {
		if msg := err.Error(); msg != "" { // "": the exit status says it all
			fmt.Fprintln(os.Stderr, "vigil:", termsafe.Text(msg))
		}
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
		newTopCmd(),
		newRulesCmd(),
		newPolicyCmd(),
		newIntelCmd(),
		newModulesCmd(),
		newReplayCmd(),
		newRecordCmd(),
		newVerifyCmd(),
		newProfileCmd(),
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
			// a stamped version is whatever -ldflags or the tag said
			fmt.Fprintln(cmd.OutOrStdout(), termsafe.Escape(vigilVersion()))
		},
	}
}

// vigilVersion is the version stamped with -ldflags, or else the one
// the Go toolchain recorded in the binary.
func vigilVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return resolveVersion(version, nil)
	}
	return resolveVersion(version, bi)
}

// resolveVersion picks, in order: the stamped version ("dev" is the
// Makefile's word for "no git", so it does not count); the module's
// version, which go install module@version records, and go build in a
// git checkout records as a pseudo-version (v0.0.0-<time>-<rev>[+dirty]);
// the same pseudo-version made from the vcs settings, for toolchains
// that record those only; "dev" when the binary carries none of them
// (-buildvcs=false, go run, go test).
func resolveVersion(stamped string, bi *debug.BuildInfo) string {
	if stamped != "" && stamped != "dev" {
		return stamped
	}
	if bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	v := rev
	if len(rev) > 12 {
		v = rev[:12]
	}
	if t, err := time.Parse(time.RFC3339, at); err == nil {
		v = "v0.0.0-" + t.UTC().Format("20060102150405") + "-" + v
	}
	if dirty {
		v += "+dirty"
	}
	return v
}
