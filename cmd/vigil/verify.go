package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
	"github.com/vigil-sec/vigil/internal/verify"
)

// Exit statuses of vigil verify: a CI gate tells "the bytecode is bad"
// from "the gate itself could not run".
const (
	verifyFailed = 1 // a program failed, grew past the baseline, or (--fail-unsupported) could not be verified
	verifyUsage  = 2 // bad flags, a file that is missing or not a BPF object, no privilege
)

type verifyFlags struct {
	format          string
	baseline        string
	maxGrowth       float64
	writeBaseline   bool
	failUnsupported bool
	logLines        int
	jobs            int
}

func newVerifyCmd() *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify FILE.o...",
		Short: "Load every program of BPF objects through this kernel's verifier and report",
		Long: `verify loads every program of each BPF ELF object (vigil's own or any other:
libbpf-tools style objects, maps of any type, global data, BTF, tail calls)
through the running kernel's verifier, each program on its own with only the
maps it uses, created unpinned. Nothing is attached. For each program it
reports pass or fail, instructions processed against the 1M complexity limit,
the program's size against the 4096 unprivileged limit, stack depth, and the
verifier's time; a rejection comes with the verifier log's tail and the
failing instruction.

A program whose type this kernel refuses before verifying it (fentry, fexit
and LSM programs on kernels that forbid them) is "unsupported here", not a
failure, unless --fail-unsupported.

Exit status: 0 all passed, 1 a program failed or grew past --max-growth,
2 usage or file errors (or no privilege to load programs).`,
		Example: `  # the gate: every object must pass
  sudo vigil verify build/*.bpf.o

  # in CI: JUnit XML for the test report, and a baseline of instructions
  # processed that fails a change growing a program by more than 10 %
  sudo vigil verify --format junit --baseline bpf/verifier-baseline.json --max-growth 10 *.o > verify.xml

  # record a new baseline after an accepted change
  sudo vigil verify --baseline bpf/verifier-baseline.json --write-baseline *.o`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &exitError{code: verifyUsage, err: errors.New("verify: name at least one BPF object file")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd, f, args)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: verifyUsage, err: err}
	})
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "text", "output format: text, json or junit")
	fl.StringVar(&f.baseline, "baseline", "", "a previous JSON report: compare instructions processed with it")
	fl.Float64Var(&f.maxGrowth, "max-growth", 10, "with --baseline: fail when a program's instructions processed grow by more than this percentage")
	fl.BoolVar(&f.writeBaseline, "write-baseline", false, "write this run's JSON report to the --baseline file instead of comparing")
	fl.BoolVar(&f.failUnsupported, "fail-unsupported", false, "count programs this kernel refuses to load (unsupported here) as failures")
	fl.IntVar(&f.logLines, "log-lines", 30, "lines of the verifier log kept for each failure")
	fl.IntVar(&f.jobs, "jobs", 0, "objects verified at once (0: one per CPU)")
	return cmd
}

func runVerify(cmd *cobra.Command, f verifyFlags, args []string) error {
	usage := func(err error) error { return &exitError{code: verifyUsage, err: err} }
	switch {
	case f.format != "text" && f.format != "json" && f.format != "junit":
		return usage(fmt.Errorf("--format %q: want text, json or junit", f.format))
	case f.writeBaseline && f.baseline == "":
		return usage(errors.New("--write-baseline needs --baseline FILE"))
	case f.maxGrowth < 0:
		return usage(fmt.Errorf("--max-growth %g: want a percentage of 0 or more", f.maxGrowth))
	case f.logLines < 1:
		return usage(fmt.Errorf("--log-lines %d: want 1 or more", f.logLines))
	case f.jobs < 0:
		return usage(fmt.Errorf("--jobs %d: want 0 (one per CPU) or more", f.jobs))
	}
	for _, a := range args {
		if st, err := os.Stat(a); err != nil {
			return usage(err)
		} else if st.IsDir() {
			return usage(fmt.Errorf("%s is a directory: name the object files", a))
		}
	}
	var base *verify.Report
	if f.baseline != "" && !f.writeBaseline {
		b, err := verify.ReadReport(f.baseline)
		if err != nil {
			return usage(fmt.Errorf("baseline: %w", err))
		}
		base = b
	}
	v, err := verify.New(verify.Options{LogLines: f.logLines, Jobs: f.jobs})
	if err != nil {
		return usage(err)
	}
	// tracefs tells a tracepoint this kernel lacks (unsupported here) from
	// a rejection; mounted where missing, as vigil run does. Without it
	// such a program is reported as failing, so go on regardless.
	if _, err := kernel.EnsureMounts(); err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "vigil verify: tracefs:", termsafe.Text(err.Error()))
	}
	rep := v.Objects(args)
	if base != nil {
		rep.Compare(base, f.baseline, f.maxGrowth)
	}
	if f.writeBaseline {
		var buf bytes.Buffer
		if err := rep.Stable().WriteJSON(&buf); err != nil {
			return err
		}
		if err := os.WriteFile(f.baseline, buf.Bytes(), 0o644); err != nil {
			return usage(fmt.Errorf("write baseline: %w", err))
		}
	}
	out := cmd.OutOrStdout()
	switch f.format {
	case "json":
		err = rep.WriteJSON(out)
	case "junit":
		err = rep.WriteJUnit(out, f.failUnsupported)
	default:
		err = rep.WriteText(out, f.failUnsupported)
	}
	if err != nil {
		return err
	}
	s := rep.Summary
	switch {
	case s.ObjectErrors > 0:
		return usage(fmt.Errorf("%d of %d files are not BPF objects this loader can read", s.ObjectErrors, s.Objects))
	case rep.Failed(f.failUnsupported):
		return &exitError{code: verifyFailed, err: fmt.Errorf("verify: %d failed, %d grew past %g%%, %d unsupported here",
			s.Failed, s.Grown, f.maxGrowth, s.Unsupported)}
	}
	return nil
}
