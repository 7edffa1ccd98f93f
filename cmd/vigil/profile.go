package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/observe/syscalls"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
	"github.com/vigil-sec/vigil/internal/seccomp"
)

type profileFlags struct {
	output    string
	cgroup    string
	container string
	duration  time.Duration
	mode      string
	errno     string
	runtime   bool
	pods      podFlags
}

func newProfileCmd() *cobra.Command {
	var f profileFlags
	cmd := &cobra.Command{
		Use:   "profile [flags] [-- COMMAND [ARG…]]",
		Short: "Write a seccomp profile from the system calls a workload makes",
		Long: `Profile records the system calls (and their architecture) that a workload
makes, in a bitmap the kernel keeps per cgroup (no record per call, so none is
lost however fast they come), and writes an OCI / Docker seccomp profile that
allows those calls and refuses every other one.

The workload is a command vigil starts (after --: it is born in a cgroup of its
own, so every call from its first is seen, its children's too), a cgroup v2
directory (--cgroup), a container (--container) or Kubernetes pods on this node
(--pod, --selector: each pod's cgroup, its sandbox's calls included). Recording lasts until the
command ends, --duration passes, or SIGINT/SIGTERM.

What the profile may lack is reported on stderr, never silently left out:
calls made before recording started (a running container's start-up: for
containers and pods, the calls runc makes after installing the filter are added), calls
whose number has no name in vigil's table, and calls the recorder counted but
could not keep. It needs root.`,
		Example: `  # profile a command, from its first call
  sudo vigil profile -o app.json -- ./app --serve

  # profile a running container for ten minutes, logging instead of refusing
  sudo vigil profile --container 3f4e1a2b5c6d --duration 10m --mode log -o app.json

  # profile a Kubernetes pod running on this node
  sudo vigil profile --pod shop/web-6d4c9 --duration 1h -o web.json

  # use it
  docker run --security-opt seccomp=app.json …`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() < 0 && len(args) > 0 {
				return fmt.Errorf("unexpected argument %q: put the command to profile after --", termsafe.Escape(args[0]))
			}
			return runProfile(cmd.Context(), f, args, cmd.Flags().Changed("runtime-calls"), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "", "write the profile to this file instead of stdout")
	fl.StringVar(&f.cgroup, "cgroup", "", "record this cgroup v2 directory and its children (path below the cgroup2 mount)")
	fl.StringVar(&f.container, "container", "", "record this container (its id, or a unique prefix of at least 12 characters)")
	fl.DurationVar(&f.duration, "duration", 0, "stop recording after this long (0: when the command ends, or at SIGINT/SIGTERM)")
	fl.StringVar(&f.mode, "mode", "errno", "what the profile does with other calls: errno (refuse them) or log (allow and log them: SCMP_ACT_LOG)")
	fl.StringVar(&f.errno, "errno", "EPERM", "the error a refused call returns: a name (EPERM, EACCES, ENOSYS…) or a number")
	fl.StringVar(&f.pods.pod, "pod", "", "record this Kubernetes pod (NAMESPACE/NAME) running on this node, all its containers")
	fl.StringVar(&f.pods.selector, "selector", "", "record the pods of --namespace on this node that this label selector matches (app=web)")
	fl.StringVarP(&f.pods.namespace, "namespace", "n", "default", "the namespace of --selector")
	fl.StringVar(&f.pods.kubeconfig, "kubeconfig", "", "kubeconfig for --pod and --selector (default: KUBECONFIG, then the in-cluster configuration)")
	fl.BoolVar(&f.runtime, "runtime-calls", false, "add the calls runc makes after installing the filter (default: on for --container and pods, off otherwise)")
	return cmd
}

// runProfile records the target and writes its profile.
func runProfile(ctx context.Context, f profileFlags, command []string, runtimeSet bool, stdout, stderr io.Writer) error {
	errno, err := parseErrno(f.errno)
	if err != nil {
		return err
	}
	if f.mode != "errno" && f.mode != "log" {
		return fmt.Errorf("--mode %q: want errno or log", termsafe.Escape(f.mode))
	}
	targets := 0
	if f.pods.pod != "" && f.pods.selector != "" {
		return errors.New("--pod and --selector both name pods: give one")
	}
	for _, set := range []bool{len(command) > 0, f.cgroup != "", f.container != "", f.pods.pod != "" || f.pods.selector != ""} {
		if set {
			targets++
		}
	}
	if targets != 1 {
		return errors.New("name one workload: a command after --, --cgroup, --container, or --pod / --selector")
	}

	rec, err := syscalls.Open()
	if err != nil {
		return fmt.Errorf("load the syscall recorder: %w", err)
	}
	defer func() {
		if err := rec.Close(); err != nil {
			fmt.Fprintf(stderr, "vigil: unload the syscall recorder: %s\n", termsafe.Text(err.Error()))
		}
	}()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}

	var t *profileTarget
	switch {
	case len(command) > 0:
		t, err = startCommand(rec, command)
	case f.cgroup != "":
		t, err = attachCgroup(rec, f.cgroup)
	case f.container != "":
		t, err = attachContainer(rec, f.container)
	default:
		t, err = attachPods(ctx, rec, f.pods)
	}
	if err != nil {
		return err
	}
	until := ""
	if len(command) == 0 && f.duration == 0 {
		until = " until SIGINT or SIGTERM (no --duration given)"
	}
	fmt.Fprintf(stderr, "vigil: recording %s%s\n", termsafe.Escape(t.name), until)
	waitErr := t.wait(ctx)
	set := &syscalls.Set{}
	for _, slot := range t.slots {
		s, err := rec.Calls(slot)
		if err != nil {
			return err
		}
		set.Union(s)
	}
	counters, err := rec.Counters()
	if err != nil {
		return err
	}
	if cerr := t.cleanup(); cerr != nil {
		fmt.Fprintf(stderr, "vigil: %s\n", termsafe.Text(cerr.Error()))
	}

	obs := seccomp.Observed{}
	for arch, name := range map[syscalls.Arch]seccomp.Arch{syscalls.Native: seccomp.ArchX86_64, syscalls.X32: seccomp.ArchX32, syscalls.IA32: seccomp.ArchX86} {
		obs[name] = set.Numbers(arch)
	}
	runtime := t.late
	if runtimeSet {
		runtime = f.runtime
	}
	p, unknown := seccomp.Build(obs, seccomp.Options{Log: f.mode == "log", Errno: errno, Runtime: runtime})
	if err := writeProfile(p, f.output, stdout); err != nil {
		return err
	}
	reportProfile(stderr, t, obs, p, unknown, counters, runtime)
	return waitErr
}

// parseErrno reads --errno: a name or a number.
func parseErrno(s string) (uint, error) {
	if n, err := strconv.ParseUint(s, 10, 16); err == nil && n > 0 && n < 4096 {
		return uint(n), nil
	}
	for e := unix.Errno(1); e < 4096 && s != ""; e++ {
		if unix.ErrnoName(e) == strings.ToUpper(s) {
			return uint(e), nil
		}
	}
	return 0, fmt.Errorf("--errno %q: want an errno name (EPERM, EACCES, ENOSYS…) or a number 1-4095", termsafe.Escape(s))
}

// writeProfile writes p as indented JSON to path, or to stdout when path
// is empty.
func writeProfile(p *seccomp.Profile, path string, stdout io.Writer) error {
	raw, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	raw = append(raw, '\n')
	if path == "" {
		_, err = stdout.Write(raw)
		return err
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	return nil
}

// reportProfile says on stderr what was recorded and what the profile may
// lack.
func reportProfile(w io.Writer, t *profileTarget, obs seccomp.Observed, p *seccomp.Profile, unknown []seccomp.Unknown, c syscalls.Counters, runtime bool) {
	n := 0
	for _, r := range p.Syscalls {
		n += len(r.Names)
	}
	fmt.Fprintf(w, "vigil: recorded %s: %d calls seen, %d distinct calls allowed (%s)\n",
		termsafe.Escape(t.name), c.Calls, n, joinArches(p.Architectures))
	fmt.Fprint(w, indent(seccomp.Describe(obs)))
	if t.late {
		fmt.Fprintf(w, "vigil: WARNING: recording started after %s did: calls it made before (its start-up) are not in the profile;\n"+
			"  record it from its start (vigil profile -- COMMAND, or a container started after vigil profile attached) and run every path it takes\n",
			termsafe.Escape(t.name))
	}
	if runtime {
		fmt.Fprintf(w, "vigil: added the %d calls runc makes after installing the filter: %s\n",
			len(seccomp.RuntimeCalls), strings.Join(seccomp.RuntimeCalls, " "))
	}
	if len(unknown) > 0 {
		var s []string
		for _, u := range unknown {
			s = append(s, u.String())
		}
		fmt.Fprintf(w, "vigil: WARNING: %d recorded calls have no name in vigil's table (Linux 6.1 headers), so the profile refuses them: %s\n",
			len(unknown), strings.Join(s, ", "))
	}
	if c.OutOfRange > 0 {
		fmt.Fprintf(w, "vigil: WARNING: %d calls had a number past %d and are not in the profile (invalid calls, or a kernel newer than the recorder)\n",
			c.OutOfRange, syscalls.MaxNr-1)
	}
	if c.NoBitmap > 0 {
		fmt.Fprintf(w, "vigil: WARNING: %d calls were seen but not recorded (no bitmap): the profile is incomplete\n", c.NoBitmap)
	}
	if c.Calls == 0 {
		fmt.Fprintln(w, "vigil: WARNING: no call was recorded: the profile allows nothing")
	}
}

func joinArches(as []seccomp.Arch) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}
