package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/enforce"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

// policyFlags reach the agent, or, when none runs, its pinned state.
type policyFlags struct {
	socket, pinDir, stateDir string
}

func (f *policyFlags) register(cmd *cobra.Command, offline bool) {
	cmd.Flags().StringVar(&f.socket, "socket", config.DefaultSocket, "the agent's API socket (vigil run --socket)")
	if offline {
		cmd.Flags().StringVar(&f.pinDir, "pin-dir", pinned.DefaultDir, "where enforcement is pinned, read when no agent runs (vigil run --pin-dir)")
		cmd.Flags().StringVar(&f.stateDir, "state-dir", enforce.DefaultStateDir, "where applied policies are remembered (vigil run --state-dir)")
	}
}

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Apply, list and clear prevention policies of the running agent",
		Long: `Policies say what vigil stops: binaries that may not run, files that may not be
opened, connections and packets that are refused, kernel module loads — on the
whole host or in one cgroup or container, in monitor or enforce mode. The
format, and what each part can and cannot do on this kernel, is in
docs/policies.md.`,
		Example: `  # check a file without applying it
  vigil policy validate no-miners.yaml

  # apply it to the running agent (remembered across restarts)
  sudo vigil policy apply no-miners.yaml

  # what is enforced, and what it did
  sudo vigil policy list

  # lift one policy, or all of them
  sudo vigil policy clear no-miners
  sudo vigil policy clear`,
	}
	cmd.AddCommand(newPolicyApplyCmd(), newPolicyListCmd(), newPolicyClearCmd(), newPolicyValidateCmd())
	return cmd
}

func policyContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(commandContext(cmd), 30*time.Second)
}

func newPolicyApplyCmd() *cobra.Command {
	var f policyFlags
	cmd := &cobra.Command{
		Use:   "apply FILE...",
		Short: "Apply policy files to the running agent",
		Long: `apply sends each file to the running agent, which checks it (every problem is
reported with file, line and field), applies its policies at once (a policy
of the same name is replaced) and remembers them in its state directory, so a
restarted agent applies them again. A file with any error applies nothing.`,
		Example: `  sudo vigil policy apply /etc/vigil/policies/*.yaml`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			ctx, cancel := policyContext(cmd)
			defer cancel()
			c := api.NewClient(f.socket)
			for _, file := range files {
				raw, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				names, err := c.ApplyPolicies(ctx, file, raw)
				var perr *api.PolicyError
				if errors.As(err, &perr) {
					fmt.Fprintln(cmd.ErrOrStderr(), termsafe.Text(perr.Message))
					return &exitError{code: 1, err: fmt.Errorf("%s: not applied", file)}
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(termsafe.NewWriter(cmd.OutOrStdout()), "%s: applied %s\n", file, strings.Join(names, ", "))
				warnUnresolved(ctx, c, names, termsafe.NewWriter(cmd.ErrOrStderr()))
			}
			return nil
		},
	}
	f.register(cmd, false)
	return cmd
}

func newPolicyValidateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check policy files without applying them",
		Long: `validate parses each file as the agent would and reports every problem with
file, line and field. It exits with status 1 if a file has errors. It needs no
agent and no root: paths are resolved when the agent applies the policy.`,
		Example: `  vigil policy validate no-miners.yaml`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			bad := 0
			for _, file := range files {
				ps, err := config.LoadPolicies(file)
				if err != nil {
					fmt.Fprintln(cmd.OutOrStdout(), termsafe.Text(err.Error()))
					bad++
					continue
				}
				for _, p := range ps {
					fmt.Fprintf(termsafe.NewWriter(cmd.OutOrStdout()), "%s: policy %s: %s, %s\n", p.Source, p.Name, p.Mode, p.Scope)
				}
			}
			if bad > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d file(s) have errors", bad)}
			}
			return nil
		},
	}
	return cmd
}

func newPolicyListCmd() *cobra.Command {
	var f policyFlags
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the policies in force, what each did, and how each mechanism runs",
		Long: `list asks the running agent for its policies: mode, scope, where each came
from (a --policy file, vigil policy apply, or rules with action kill or
deny), its kernel entries and what the kernel did for it (killed, denied,
would_kill, would_deny), and how each mechanism runs on this kernel. With no
agent running it reads the pinned state, which keeps enforcing.`,
		Example: `  sudo vigil policy list
  sudo vigil policy list --format json | jq '.policies[] | {name, hits}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			ctx, cancel := policyContext(cmd)
			defer cancel()
			rep, err := api.NewClient(f.socket).PolicyReport(ctx)
			if err != nil {
				if !errors.Is(err, api.ErrNoAgent) {
					return err
				}
				return listPinned(termsafe.NewWriter(cmd.OutOrStdout()), f.pinDir, err)
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			return writePolicies(termsafe.NewWriter(cmd.OutOrStdout()), rep)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func writePolicies(w io.Writer, rep api.PolicyReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tMODE\tSCOPE\tORIGIN\tENTRIES\tDONE")
	for _, p := range rep.Policies {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Mode, p.Scope, p.Origin, counts(p.Entries), counts(p.Hits))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range rep.Policies {
		for _, u := range p.Unresolved {
			fmt.Fprintf(w, "  %s: %s does not exist yet (watched)\n", p.Name, u)
		}
		if len(p.WhileAway) > 0 {
			fmt.Fprintf(w, "  %s: while no agent ran: %s\n", p.Name, counts(p.WhileAway))
		}
	}
	if len(rep.Packets) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SOURCE\tDROPPED\tBYTES\tWOULD DROP")
		for _, p := range rep.Packets {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", p.Prefix, p.Packets, p.Bytes, p.WouldDrop)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MECHANISM\tRUNS\tHOW")
	for _, m := range rep.Mechanisms {
		how := m.Hook
		if m.Error != "" {
			how = m.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Name, m.Mode, how)
	}
	return tw.Flush()
}

func counts[V int | uint64](m map[string]V) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// listPinned describes what the pinned state enforces with no agent.
func listPinned(w io.Writer, dir string, why error) error {
	if _, err := os.Stat(dir); err != nil {
		fmt.Fprintf(w, "no agent runs (%v), and nothing is pinned at %s: nothing is enforced\n", why, dir)
		return nil
	}
	st, err := pinned.Open(dir)
	if err != nil {
		return fmt.Errorf("no agent runs, and the pinned state at %s cannot be read: %w", dir, err)
	}
	defer func() { _ = st.Close() }() // only read from
	slots, err := st.Slots()
	if err != nil {
		return err
	}
	links, _ := pinned.Links(dir)
	fmt.Fprintf(w, "no agent runs; the kernel still enforces what %s holds (%d programs attached):\n", dir, len(links))
	hits, _ := st.Hits()
	for _, s := range slots {
		mode := "monitor"
		if s.Enforce {
			mode = "enforce"
		}
		var acted uint64
		for _, h := range hits {
			if h.Policy == s.Number {
				acted += h.Count
			}
		}
		fmt.Fprintf(w, "  %s (%s): acted %d times\n", s.Name, mode, acted)
	}
	fmt.Fprintln(w, "lift it with `sudo vigil policy clear`, or start the agent")
	return nil
}

func newPolicyClearCmd() *cobra.Command {
	var f policyFlags
	cmd := &cobra.Command{
		Use:   "clear [NAME]...",
		Short: "Remove policies from the running agent (all of them without names)",
		Long: `clear removes the named policies, or every policy but the rules' without
names, from the running agent and from its state directory; the kernel stops
enforcing them at once. With no agent running, clear removes the pinned state
itself, which detaches every enforcement program, and forgets the applied
policies: the way to lift enforcement left behind by an agent that is gone.`,
		Example: `  sudo vigil policy clear no-miners
  sudo vigil policy clear`,
		RunE: func(cmd *cobra.Command, names []string) error {
			ctx, cancel := policyContext(cmd)
			defer cancel()
			removed, err := api.NewClient(f.socket).ClearPolicies(ctx, names)
			var perr *api.PolicyError
			switch {
			case errors.As(err, &perr):
				return &exitError{code: 1, err: errors.New(perr.Message)}
			case errors.Is(err, api.ErrNoAgent):
				if len(names) > 0 {
					return fmt.Errorf("no agent runs (%v): without one, clear removes everything; run it without names", err)
				}
				if err := enforce.Uninstall(f.pinDir); err != nil {
					return err
				}
				if err := enforce.NewStore(f.stateDir).Clear(); err != nil {
					return err
				}
				fmt.Fprintf(termsafe.NewWriter(cmd.OutOrStdout()), "no agent runs: removed the pinned enforcement at %s and the applied policies in %s\n", f.pinDir, f.stateDir)
				return nil
			case err != nil:
				return err
			}
			if len(removed) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no policies to clear")
				return nil
			}
			fmt.Fprintf(termsafe.NewWriter(cmd.OutOrStdout()), "cleared %s\n", strings.Join(removed, ", "))
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}

// warnUnresolved says which paths of the policies just applied do not
// exist: the agent watches for them, but a typo would otherwise protect
// nothing without a word.
func warnUnresolved(ctx context.Context, c *api.Client, applied []string, w io.Writer) {
	rep, err := c.PolicyReport(ctx)
	if err != nil {
		fmt.Fprintf(w, "warning: could not read the policies back: %v\n", err)
		return
	}
	for _, p := range rep.Policies {
		if !slices.Contains(applied, p.Name) {
			continue
		}
		for _, u := range p.Unresolved {
			fmt.Fprintf(w, "warning: policy %s: %s does not exist (yet): nothing is enforced for it until it appears (the agent watches for it)\n", p.Name, u)
		}
	}
}
