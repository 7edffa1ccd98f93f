package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/kmod"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

func newModulesCmd() *cobra.Command {
	var socket, format, root, release string
	var agent bool
	cmd := &cobra.Command{
		Use:   "modules",
		Short: "List the kernel's modules: loaded and built in, with taint, signer, file and hash",
		Long: `modules lists every module the kernel knows: those it loaded (/proc/modules:
size, reference count, dependencies, state), with their taint flags
(out-of-tree, unsigned, forced, proprietary, …), the .ko file modules.dep
names for them with its SHA-256, the signer their appended signature names
and their .modinfo; and those built into it (/sys/module,
/lib/modules/RELEASE/modules.builtin). The kernel's own taint
(/proc/sys/kernel/tainted) heads the list.

With --agent it asks the running agent instead, which adds when and by
whom each module was loaded, when the agent saw it. --root reads another
tree laid out like / (a mounted node image, a test fixture).
See docs/kernel-integrity.md.`,
		Example: `  vigil modules
  vigil modules --format json | jq '.modules[] | select(.taints)'
  sudo vigil modules --agent`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			var inv *kmod.Inventory
			if agent {
				ctx, cancel := context.WithTimeout(commandContext(cmd), 30*time.Second)
				defer cancel()
				var err error
				if inv, err = api.NewClient(socket).Modules(ctx); err != nil {
					return err
				}
			} else {
				inv = kmod.Read(root, kmod.Options{Release: release})
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), inv)
			}
			return writeModules(cmd.OutOrStdout(), inv)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&root, "root", "/", "read /proc, /sys and /lib/modules under this directory")
	cmd.Flags().StringVar(&release, "release", "", "the kernel release whose /lib/modules to read (default: the root's /proc/sys/kernel/osrelease)")
	cmd.Flags().BoolVar(&agent, "agent", false, "ask the running agent, which adds the module loads it saw")
	cmd.Flags().StringVar(&socket, "socket", config.DefaultSocket, "the agent's API socket, with --agent")
	cmd.MarkFlagsMutuallyExclusive("agent", "root")
	return cmd
}

// writeModules prints the inventory for people. Names, paths and modinfo
// strings come from files anyone who loads a module writes: escaped.
func writeModules(w io.Writer, inv *kmod.Inventory) error {
	esc := termsafe.Escape
	support := "can load modules"
	if !inv.ModulesSupported {
		support = "built without module support (no /proc/modules): built-in modules only"
	}
	if inv.ModulesDisabled {
		support = "module loading disabled until reboot (kernel.modules_disabled)"
	}
	fmt.Fprintf(w, "kernel %s: %s\n", esc(inv.Release), support)
	taints := "none"
	if len(inv.Taints) > 0 {
		taints = strings.Join(inv.Taints, ", ")
	}
	fmt.Fprintf(w, "kernel taint: %d (%s)\n", inv.Tainted, taints)
	if inv.SigEnforce != "" {
		fmt.Fprintf(w, "signature enforcement (module.sig_enforce): %s\n", esc(inv.SigEnforce))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nNAME\tKIND\tSTATE\tSIZE\tREFS\tTAINT\tSIGNER\tSHA256\tFILE\tLOADED")
	loaded, builtin := 0, 0
	for _, m := range inv.Modules {
		if m.Kind == kmod.KindLoaded {
			loaded++
		} else {
			builtin++
		}
		size, refs, signer, sum, file, seen := "-", "-", "-", "-", "-", "-"
		if m.Size > 0 {
			size = strconv.FormatUint(m.Size, 10)
		}
		if m.Refcount >= 0 {
			refs = strconv.Itoa(m.Refcount)
		}
		if f := m.File; f != nil {
			sum, file = f.SHA256[:16], esc(f.Path)
			switch {
			case f.Signature != nil && f.Signature.Signer != "":
				signer = esc(f.Signature.Signer)
			case f.Signature != nil:
				signer = esc(f.Signature.IDType + " " + f.Signature.KeyID)
			case f.Unread == "":
				signer = "unsigned"
			}
		}
		if l := m.Load; l != nil {
			seen = fmt.Sprintf("%s pid %d uid %d %s", l.Time.Local().Format(time.DateTime), l.PID, l.UID, esc(l.Binary))
		}
		taint := m.Taint
		if taint == "" {
			taint = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", esc(m.Name), m.Kind, esc(m.State), size, refs,
			esc(taint), signer, sum, file, seen)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d loaded, %d built in\n", loaded, builtin)
	if len(inv.Loads) > 0 {
		fmt.Fprintln(w, "\nmodule loads the agent saw (last first):")
		for i := len(inv.Loads) - 1; i >= 0; i-- {
			l := inv.Loads[i]
			res := "loaded"
			if l.Error != "" {
				res = "failed " + esc(l.Error)
			}
			fmt.Fprintf(w, "  %s %s %s %s by pid %d uid %d %s: %s\n", l.Time.Local().Format(time.DateTime), esc(l.Syscall),
				esc(l.Name), esc(l.Path), l.PID, l.UID, esc(l.Binary), res)
		}
	}
	for _, p := range inv.Problems {
		fmt.Fprintf(w, "problem: %s\n", esc(p))
	}
	return nil
}
