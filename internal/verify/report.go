package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

// Status is a program's outcome.
type Status string

// The outcomes of a program.
const (
	// Pass: the verifier accepted the program.
	Pass Status = "pass"
	// Fail: the verifier rejected it, or it could not be loaded for a
	// reason of its own (a map it needs, a CO-RE relocation).
	Fail Status = "fail"
	// Unsupported: this kernel refuses the program's type or attach type,
	// or lacks its attach target, before the verifier looks at it; the
	// verifier has said nothing of the program.
	Unsupported Status = "unsupported"
)

// Reasons a program failed or is unsupported.
const (
	ReasonVerifier      = "verifier"       // rejected by the verifier
	ReasonLoad          = "load"           // another load error (a map, BTF)
	ReasonProgramType   = "program type"   // the kernel refuses the type/attach type
	ReasonKernelFeature = "kernel feature" // a map type, helper or feature this kernel lacks
	ReasonAttachTarget  = "attach target"  // the attach target is not in this kernel's BTF
	ReasonSection       = "section"        // no known program type for the ELF section
)

// Report is the outcome of a run, and the format of a baseline.
type Report struct {
	// Kernel is the release the verifier ran on (instructions processed
	// depend on the kernel, so a baseline names it).
	Kernel  string   `json:"kernel"`
	Objects []Object `json:"objects"`
	Summary Summary  `json:"summary"`
	// Baseline is the comparison with a previous report, when one was made.
	Baseline *BaselineInfo `json:"baseline,omitempty"`
}

// Object is one ELF file and its programs.
type Object struct {
	Path string `json:"path"`
	// Error says why the file could not be read as a BPF object.
	Error    string    `json:"error,omitempty"`
	Maps     int       `json:"maps"`
	Programs []Program `json:"programs"`
}

// Program is what the verifier said of one program.
type Program struct {
	Name       string `json:"name"`
	Section    string `json:"section"`
	Type       string `json:"type"`
	AttachType string `json:"attach_type,omitempty"`
	AttachTo   string `json:"attach_to,omitempty"`
	Status     Status `json:"status"`
	Reason     string `json:"reason,omitempty"`
	Error      string `json:"error,omitempty"`
	// Insns is the program's size in instructions (a 64-bit load counts
	// two), subprograms included: what BPF_MAXINSNS limits.
	Insns int `json:"insns"`
	// OverUnprivileged: Insns is more than UnprivilegedInsns, so only a
	// privileged (CAP_BPF) loader can load it.
	OverUnprivileged bool `json:"over_unprivileged_limit"`
	Stats
	// ComplexityPct is Processed as a percentage of ComplexityLimit.
	ComplexityPct float64 `json:"complexity_pct"`
	// StackBytes is Stats.StackTotal.
	StackBytes int `json:"stack_bytes"`
	// LoadUsec is the wall time of the whole load, maps included.
	LoadUsec   int64    `json:"load_usec"`
	FailedInsn *Insn    `json:"failed_insn,omitempty"`
	LogTail    []string `json:"log_tail,omitempty"`
	Growth     *Growth  `json:"growth,omitempty"`
}

// finish derives the figures computed from the statistics.
func (p *Program) finish() {
	if p.Status == Unsupported {
		p.MarkRead = 0
		return
	}
	p.OverUnprivileged = p.Insns > UnprivilegedInsns
	p.ComplexityPct = float64(p.Processed) * 100 / ComplexityLimit
	p.StackBytes = p.StackTotal()
}

// Summary counts a report's outcomes.
type Summary struct {
	Objects      int `json:"objects"`
	ObjectErrors int `json:"object_errors"`
	Programs     int `json:"programs"`
	Passed       int `json:"passed"`
	Failed       int `json:"failed"`
	Unsupported  int `json:"unsupported"`
	// Grown counts programs whose instructions processed grew past the
	// baseline's threshold.
	Grown int `json:"grown"`
}

func (r *Report) summarize() {
	s := Summary{Objects: len(r.Objects)}
	for _, o := range r.Objects {
		if o.Error != "" {
			s.ObjectErrors++
		}
		for _, p := range o.Programs {
			s.Programs++
			switch p.Status {
			case Pass:
				s.Passed++
			case Fail:
				s.Failed++
			case Unsupported:
				s.Unsupported++
			}
			if p.Growth != nil && p.Growth.Exceeded {
				s.Grown++
			}
		}
	}
	r.Summary = s
}

// Failed reports whether the gate fails: a program failed, grew past
// the baseline's threshold, or (when unsupportedFails) could not be
// verified on this kernel.
func (r *Report) Failed(unsupportedFails bool) bool {
	s := r.Summary
	return s.Failed > 0 || s.Grown > 0 || (unsupportedFails && s.Unsupported > 0)
}

// WriteJSON writes the report as indented JSON (the baseline format).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(path string) (*Report, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%s: not a vigil verify JSON report: %w", path, err)
	}
	return &r, nil
}

// WriteText writes the report for a person: a line per program, the log
// tail under each failure, and a summary. Every name and log line is
// escaped for the terminal.
func (r *Report) WriteText(w io.Writer, unsupportedFails bool) error {
	tw := tabwriter.NewWriter(termsafe.NewWriter(w), 0, 4, 2, ' ', 0)
	for _, o := range r.Objects {
		fmt.Fprintf(tw, "%s\n", o.Path)
		if o.Error != "" {
			fmt.Fprintf(tw, "  ERROR\t%s\n", o.Error)
			continue
		}
		if len(o.Programs) == 0 {
			fmt.Fprintf(tw, "  (no programs; %d maps)\n", o.Maps)
		}
		for _, p := range o.Programs {
			writeProgram(tw, p)
		}
	}
	s := r.Summary
	fmt.Fprintf(tw, "\n%d objects, %d programs: %d passed, %d failed, %d unsupported here",
		s.Objects, s.Programs, s.Passed, s.Failed, s.Unsupported)
	if unsupportedFails && s.Unsupported > 0 {
		fmt.Fprint(tw, " (counted as failures)")
	}
	if s.ObjectErrors > 0 {
		fmt.Fprintf(tw, ", %d objects unreadable", s.ObjectErrors)
	}
	if b := r.Baseline; b != nil {
		fmt.Fprintf(tw, "; baseline %s (kernel %s): %d grew more than %g%%", b.Path, b.Kernel, s.Grown, b.MaxGrowthPct)
	}
	fmt.Fprintf(tw, "; kernel %s\n", r.Kernel)
	return tw.Flush()
}

func writeProgram(w io.Writer, p Program) {
	kind := p.Type
	if p.AttachType != "" {
		kind += "/" + p.AttachType
	}
	status := strings.ToUpper(string(p.Status))
	if p.Status == Unsupported {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s: %s\n", status, p.Name, p.Section, kind, p.Reason, p.Error)
		return
	}
	insns := fmt.Sprint(p.Insns)
	if p.OverUnprivileged {
		insns += fmt.Sprintf(" (>%d)", UnprivilegedInsns)
	}
	fmt.Fprintf(w, "  %s\t%s\t%s\t%s\tinsns %s\tprocessed %d (%.2f%% of 1M)\tstates %d/%d\tstack %s\t%s\n",
		status, p.Name, p.Section, kind, insns, p.Processed, p.ComplexityPct,
		p.PeakStates, p.TotalStates, stackText(p.StackDepth), durationText(p))
	if g := p.Growth; g != nil && g.Exceeded {
		fmt.Fprintf(w, "    grew: processed %d -> %d (%+.1f%%, more than %g%%)\n", g.Old, g.New, g.DeltaPct, g.MaxPct)
	}
	if p.Status != Fail {
		return
	}
	fmt.Fprintf(w, "    %s: %s\n", p.Reason, p.Error)
	if p.FailedInsn != nil {
		if p.FailedInsn.Source != "" {
			fmt.Fprintf(w, "    at %s\n", p.FailedInsn.Source)
		}
		fmt.Fprintf(w, "    failing instruction %s\n", p.FailedInsn.Text)
	}
	for _, l := range p.LogTail {
		fmt.Fprintf(w, "    | %s\n", l)
	}
}

func stackText(depths []int) string {
	if len(depths) == 0 {
		return "?"
	}
	parts := make([]string, len(depths))
	for i, d := range depths {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "+")
}

func durationText(p Program) string {
	if p.VerificationUsec > 0 {
		return fmt.Sprintf("%d µs", p.VerificationUsec)
	}
	return fmt.Sprintf("%d µs (load, measured)", p.LoadUsec)
}
