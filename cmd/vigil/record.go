package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/proctree"
)

func newRecordCmd() *cobra.Command {
	f := runFlags{
		events:        "all",
		format:        "json",
		ringSize:      "8MiB",
		flushInterval: 5 * time.Millisecond,
		procCache:     proctree.DefaultConfig().MaxEntries,
		exitGrace:     proctree.DefaultConfig().ExitGrace,
		ancestors:     proctree.DefaultConfig().AncestorDepth,
		logLevel:      "info",
		dnsPorts:      []uint{53},
		// record registers no rule flags: without the defaults the
		// throttle would be all zeros, which the engine refuses
		rules: defaultRuleFlags(),
	}
	f.rules.noDefaults = true
	cmd := &cobra.Command{
		Use:   "record",
		Short: "Capture events as JSON lines for replay and rule tests",
		Long: `Record runs the sensors like vigil run but writes every event, as JSON lines,
and evaluates no rules. Stop it with SIGINT or SIGTERM. Feed the file to
vigil replay to try rules on it, or copy events from it into rule tests.
It needs root.`,
		Example: `  # record ten minutes of this host
  sudo timeout -s INT 10m vigil record -o capture.json

  # record one service only
  sudo vigil record --cgroup system.slice/nginx.service -o nginx.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// every event, as JSON, over whatever a configuration says
			f.changed = func(flag string) bool {
				return flag == "events" || flag == "format" || cmd.Flags().Changed(flag)
			}
			return runAgent(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "", "write to this file (mode 0600, appended) instead of stdout")
	fl.StringVar(&f.cgroup, "cgroup", "", "only watch this cgroup v2 directory and its children (path below the cgroup2 mount)")
	fl.StringVar(&f.node, "node", "", "node name in events (default: the hostname)")
	fl.StringVar(&f.ringSize, "ring-buffer", f.ringSize, "kernel ring buffer size, a power of two (e.g. 4MiB, 16MiB)")
	fl.StringVar(&f.logLevel, "log-level", f.logLevel, "log level on stderr: debug, info, warn, error")
	fl.BoolVar(&f.netUnix, "net-unix", false, "also report unix sockets (connect, accept, listen, bind, fd_redirect)")
	fl.BoolVar(&f.missingCalls, "watch-missing-syscalls", false, missingCallsHelp)
	return cmd
}
