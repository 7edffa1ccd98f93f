package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/falcoimport"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
	"github.com/vigil-sec/vigil/rules"
)

// exitSkipped is import-falco's exit status when entries were left out.
const exitSkipped = 2

func newRulesImportFalcoCmd() *cobra.Command {
	var out, configFile string
	var noDefaults, verbose bool
	cmd := &cobra.Command{
		Use:   "import-falco FILE...",
		Short: "Translate Falco rules, macros and lists into vigil rules",
		Long: `import-falco reads Falco rules files in order (with Falco's append and
override), translates every rule, macro and list whose fields and event types
vigil has into one vigil rule file, and validates it after the default pack
(names the pack uses get a falco_ prefix). The rule file goes to standard
output or to -o FILE; the report goes to standard error: per entry left out,
every reason (unknown field, unsupported operator, a system call without a
vigil event kind), and a summary. Exit status 0: everything translated; 2:
entries were left out; 1: the files could not be read. docs/falco.md has the
mapping of fields and system calls.`,
		Example: `  # translate, then load the result beside the default pack
  vigil rules import-falco -o falco.yaml /etc/falco/falco_rules.yaml /etc/falco/falco_rules.local.yaml
  sudo vigil run --rules falco.yaml

  # what would translate, with the notes of each translated rule
  vigil rules import-falco -v my_rules.yaml > /dev/null`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := config.Default()
			if configFile != "" {
				var err error
				if cfg, err = config.Load(configFile); err != nil {
					return err
				}
			}
			return importFalco(args, out, cfg.ProcessEnv.Names, noDefaults, verbose, cmd.OutOrStdout(), termsafe.NewWriter(cmd.ErrOrStderr()))
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the vigil rule file here instead of standard output")
	cmd.Flags().StringVar(&configFile, "config", "", "the agent's configuration file: proc.env reads the variables its sensors.process.env watches (default: the default set)")
	cmd.Flags().BoolVar(&noDefaults, "no-default-rules", false, "validate without the default pack (and keep names it uses)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "report translated entries and what they lost too")
	return cmd
}

func importFalco(paths []string, out string, env []string, noDefaults, verbose bool, stdout, report io.Writer) error {
	var files []falcoimport.File
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, falcoimport.File{Name: p, Data: data})
	}
	opt := falcoimport.Options{Name: "falco-import.yaml", Env: env}
	if out != "" {
		opt.Name = out
	}
	if !noDefaults {
		pack, err := rules.Sources()
		if err != nil {
			return err
		}
		opt.Base = pack
	}
	res, err := falcoimport.Import(files, opt)
	if err != nil {
		return err
	}
	writeImportReport(report, res, verbose)
	if out != "" {
		if err := os.WriteFile(out, res.YAML, 0o644); err != nil {
			return err
		}
	} else if _, err := stdout.Write(res.YAML); err != nil {
		return err
	}
	for _, s := range res.Skipped {
		if s.Type != "other" {
			return &exitError{code: exitSkipped, err: fmt.Errorf("%d Falco entries left out", countSkipped(res))}
		}
	}
	return nil
}

func countSkipped(res *falcoimport.Result) int {
	n := 0
	for _, s := range res.Skipped {
		if s.Type != "other" {
			n++
		}
	}
	return n
}

func writeImportReport(w io.Writer, res *falcoimport.Result, verbose bool) {
	for _, s := range res.Skipped {
		if s.Type == "other" {
			continue
		}
		msgs := make([]string, len(s.Reasons))
		for i, r := range s.Reasons {
			msgs[i] = r.Msg
		}
		fmt.Fprintf(w, "%s: %s %q left out: %s\n", s.At, s.Type, s.Name, strings.Join(msgs, "; "))
	}
	if verbose {
		for _, t := range res.Translated {
			name := fmt.Sprintf("%s %q", t.Type, t.Name)
			if t.OutName != t.Name {
				name += " as " + t.OutName
			}
			fmt.Fprintf(w, "%s: %s translated\n", t.At, name)
			for _, n := range t.Notes {
				fmt.Fprintf(w, "%s:   note: %s\n", t.At, n)
			}
		}
	}
	sum := res.Summarize()
	var parts []string
	for _, typ := range []string{"rule", "macro", "list"} {
		parts = append(parts, fmt.Sprintf("%ss %d of %d", typ, sum.Translated[typ], sum.Defined[typ]))
	}
	fmt.Fprintf(w, "translated and validated: %s\n", strings.Join(parts, ", "))
	for i, r := range sum.Reasons {
		if i == 10 {
			break
		}
		fmt.Fprintf(w, "  %4d left out for: %s\n", r.Count, r.Key)
	}
}
