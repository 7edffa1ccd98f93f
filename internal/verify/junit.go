package verify

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnit XML, the shape CI systems (GitHub Actions reporters, GitLab's
// junit artifacts, Jenkins) read: one testsuite per object, one testcase
// per program. A failure carries the verifier's message and log tail; an
// unsupported program is skipped, or failed when unsupportedFails.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML.
func (r *Report) WriteJUnit(w io.Writer, unsupportedFails bool) error {
	all := junitSuites{Name: "vigil verify"}
	for _, o := range r.Objects {
		s := junitSuite{Name: o.Path, Properties: []junitProperty{{"kernel", r.Kernel}}}
		if o.Error != "" {
			s.Cases = append(s.Cases, junitCase{
				Name: "read object", Classname: o.Path, Time: "0",
				Error: &junitMessage{Message: o.Error, Type: "object"},
			})
			s.Errors++
		}
		var usec int64
		for _, p := range o.Programs {
			c := programCase(o.Path, p, unsupportedFails)
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Skipped != nil:
				s.Skipped++
			}
			usec += p.LoadUsec
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		s.Time = seconds(usec)
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		all.Skipped += s.Skipped
		all.Suites = append(all.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func programCase(obj string, p Program, unsupportedFails bool) junitCase {
	c := junitCase{
		Name:      fmt.Sprintf("%s (%s)", p.Name, p.Section),
		Classname: obj,
		Time:      seconds(p.LoadUsec),
	}
	if p.Status != Unsupported {
		c.SystemOut = fmt.Sprintf("type %s, insns %d, processed %d (%.2f%% of %d), states %d peak %d, stack %s, verification %d usec\n",
			p.Type, p.Insns, p.Processed, p.ComplexityPct, ComplexityLimit, p.TotalStates, p.PeakStates,
			stackText(p.StackDepth), p.VerificationUsec)
	}
	switch {
	case p.Status == Fail:
		msg := p.Error
		var text strings.Builder
		if p.FailedInsn != nil {
			msg = fmt.Sprintf("%s at instruction %s", lastLine(p.LogTail, p.Error), p.FailedInsn.Text)
			if p.FailedInsn.Source != "" {
				fmt.Fprintf(&text, "source: %s\n", p.FailedInsn.Source)
			}
		}
		for _, l := range p.LogTail {
			text.WriteString(l + "\n")
		}
		c.Failure = &junitMessage{Message: msg, Type: p.Reason, Text: text.String()}
	case p.Status == Unsupported && unsupportedFails:
		c.Failure = &junitMessage{Message: "unsupported here: " + p.Error, Type: p.Reason}
	case p.Status == Unsupported:
		c.Skipped = &junitMessage{Message: "unsupported here: " + p.Error}
	case p.Growth != nil && p.Growth.Exceeded:
		g := p.Growth
		c.Failure = &junitMessage{
			Message: fmt.Sprintf("instructions processed grew %d -> %d (%+.1f%%, more than %g%%)", g.Old, g.New, g.DeltaPct, g.MaxPct),
			Type:    "growth",
		}
	}
	return c
}

// lastLine is the verifier's own message: the first line of the tail
// after the failing instruction, else def.
func lastLine(tail []string, def string) string {
	for i := len(tail) - 1; i >= 0; i-- {
		if _, ok := insnIndex(tail[i]); ok {
			if i+1 < len(tail) {
				return tail[i+1]
			}
			break
		}
	}
	return def
}

func seconds(usec int64) string {
	return fmt.Sprintf("%.6f", float64(usec)/1e6)
}
