package config

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/output/file"
)

// StreamOutput names the output that feeds the local API's live streams;
// configured outputs may not take the name.
const StreamOutput = "api"

// Overrides are command-line flags that override the file; nil (or
// false for Events) means the flag was not given.
type Overrides struct {
	// Output, Format and Events describe the command line's output:
	// stdout (Output "" or "-") or a file. See Apply for how it combines
	// with the file's outputs.
	Output *string
	Format *string
	Events *string
	// DefaultEvents is what the command line's output takes when Events
	// is not given: "alerts" or "all" ("" is all).
	DefaultEvents string
	// MetricsAddress "" turns metrics off.
	MetricsAddress     *string
	MetricsAllowRemote *bool
	BPFStats           *bool
	// MetricsK8sLabels are --metrics-k8s-labels' values.
	MetricsK8sLabels *[]string
	// Socket "" turns the local API off.
	Socket *string
	// Observe are --observe's values; ObserveCgroups and
	// ObserveMaxSeries --observe-cgroups and --observe-max-series.
	Observe          *[]string
	ObserveCgroups   *int
	ObserveMaxSeries *int
	// APIReadGroup is --api-read-group: a group that may read the API.
	APIReadGroup *string
	// DropsInterval is --drops-interval; 0 writes no drops record.
	DropsInterval *time.Duration
}

// Apply lays the flags over c. Without outputs in the file, the command
// line's output (stdout unless Output names a file) is the only one. With
// outputs in the file, every one of them is kept, and Output, Format and
// Events, when given, change the file's stdout output (Output moves it
// into a file), or add one when the file has none. What cannot be merged
// is refused, naming the file, line and field.
func (c *Config) Apply(o Overrides) error {
	switch {
	case len(c.Outputs) == 0:
		out, err := flagOutput(o)
		if err != nil {
			return err
		}
		c.Outputs = []Output{out}
	case o.Output != nil || o.Format != nil || o.Events != nil:
		if err := c.mergeFlagOutput(o); err != nil {
			return err
		}
	}
	if o.MetricsAddress != nil {
		c.Metrics.Address = metrics.LoopbackByDefault(*o.MetricsAddress)
	}
	if o.DropsInterval != nil {
		if *o.DropsInterval < 0 {
			return fmt.Errorf("--drops-interval %s: want 0 (no drops records) or more", *o.DropsInterval)
		}
		c.Drops.Interval = *o.DropsInterval
	}
	if o.MetricsAllowRemote != nil {
		c.Metrics.AllowNonLoopback = *o.MetricsAllowRemote
	}
	if o.BPFStats != nil {
		c.Metrics.BPFStats = *o.BPFStats
	}
	if o.MetricsK8sLabels != nil {
		l, err := metrics.ParsePodLabels(*o.MetricsK8sLabels)
		if err != nil {
			return fmt.Errorf("--metrics-k8s-labels: %w", err)
		}
		c.Metrics.PodLabels = l
	}
	if c.Metrics.Address != "" {
		if err := metrics.CheckAddress(c.Metrics.Address, c.Metrics.AllowNonLoopback); err != nil {
			return fmt.Errorf("--metrics-addr %w", err)
		}
	}
	if o.APIReadGroup != nil {
		gid, err := LookupReadGroup(*o.APIReadGroup)
		if err != nil {
			return fmt.Errorf("--api-read-group: %w", err)
		}
		c.API.ReadGroup, c.API.ReadGID = *o.APIReadGroup, gid
	}
	if o.Socket != nil {
		c.API.Socket = *o.Socket
	}
	if err := c.applyObserve(o); err != nil {
		return err
	}
	return nil
}

func get(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// flagEvents reads --events into f, over what f already passes.
func flagEvents(o Overrides, f *output.Filter) error {
	ev := o.DefaultEvents
	if o.Events != nil {
		ev = *o.Events
	}
	switch ev {
	case "", "all":
		f.Events, f.Alerts = true, true
	case "alerts":
		f.Events, f.Alerts = false, true
	default:
		return fmt.Errorf("--events %q: want all or alerts", ev)
	}
	return nil
}

func flagFormat(o Overrides) (output.Format, error) {
	f := get(o.Format)
	if f == "" {
		return "", nil
	}
	format, err := output.ParseFormat(f)
	if err != nil {
		return "", fmt.Errorf("--format: %w", err)
	}
	return format, nil
}

// toStdout says whether the command line's output is stdout.
func toStdout(o Overrides) bool { return get(o.Output) == "" || get(o.Output) == "-" }

func flagOutput(o Overrides) (Output, error) {
	format, err := flagFormat(o)
	if err != nil {
		return Output{}, err
	}
	var filter output.Filter
	if err := flagEvents(o, &filter); err != nil {
		return Output{}, err
	}
	if toStdout(o) {
		return Output{Name: TypeStdout, Type: TypeStdout, Filter: filter, Stdout: &StdoutOptions{Format: format}}, nil
	}
	if format == "" {
		format = output.FormatJSON
	}
	// a file named on the command line is appended to, never rotated
	return Output{Name: TypeFile, Type: TypeFile, Filter: filter, File: &file.Options{Path: get(o.Output), Format: format}}, nil
}

// mergeFlagOutput lays the output flags over the file's outputs: the
// file's stdout output takes them (one stdout cannot carry two streams
// of lines), or a new output does when the file has none.
func (c *Config) mergeFlagOutput(o Overrides) error {
	where := func(i int) string {
		return fmt.Sprintf("%s:%d: outputs[%d]", c.File, c.Outputs[i].Line, i)
	}
	at := -1
	for i, out := range c.Outputs {
		if out.Type != TypeStdout {
			continue
		}
		if at >= 0 {
			return fmt.Errorf("--output, --format and --events change the stdout output of the config file, and it has two: %s and %s; "+
				"drop the flags or one of the outputs", where(at), where(i))
		}
		at = i
	}
	if at < 0 {
		// nothing to merge with: the flags' output joins the file's
		out, err := flagOutput(o)
		if err != nil {
			return err
		}
		if err := c.checkFlagFile(out); err != nil {
			return err
		}
		out.Name = c.freeName(out.Name)
		c.Outputs = append(c.Outputs, out)
		return nil
	}
	out := c.Outputs[at]
	format, err := flagFormat(o)
	if err != nil {
		return err
	}
	if format == "" {
		format = out.Stdout.Format
	}
	if o.Events != nil {
		// --events promises every event, or every alert: a filter that
		// keeps only some of them contradicts it
		f := out.Filter
		for _, narrow := range []struct {
			set   bool
			field string
		}{{len(f.Kinds) > 0, "kinds"}, {len(f.Rules) > 0, "rules"}, {f.MinSeverity != "", "min_severity"}} {
			if narrow.set {
				return fmt.Errorf("--events %s: %s.filter.%s keeps only some of them; change the filter there, or drop --events",
					*o.Events, where(at), narrow.field)
			}
		}
		if err := flagEvents(o, &out.Filter); err != nil {
			return err
		}
	}
	if toStdout(o) {
		out.Stdout = &StdoutOptions{Format: format}
	} else {
		if format == "" {
			format = output.FormatJSON
		}
		out.Type, out.Stdout = TypeFile, nil
		out.File = &file.Options{Path: get(o.Output), Format: format}
		if err := c.checkFlagFile(out); err != nil {
			return err
		}
		if out.Name == TypeStdout {
			out.Name = c.freeName(TypeFile) // not named after what it no longer is
		}
	}
	c.Outputs[at] = out
	return nil
}

// checkFlagFile refuses a file of --output that an output of the file
// already writes: two writers would interleave and rotate it apart.
func (c *Config) checkFlagFile(out Output) error {
	if out.File == nil {
		return nil
	}
	for i, other := range c.Outputs {
		if other.File != nil && other.Type == TypeFile && filepath.Clean(other.File.Path) == filepath.Clean(out.File.Path) {
			return fmt.Errorf("--output %s: %s:%d: outputs[%d].file.path writes that file already; choose another file, or drop --output",
				out.File.Path, c.File, other.Line, i)
		}
	}
	return nil
}

// freeName is name, or name with a suffix, so that no output has it.
func (c *Config) freeName(name string) string {
	taken := map[string]bool{StreamOutput: true}
	for _, o := range c.Outputs {
		taken[o.Name] = true
	}
	for n, i := name, 1; ; i++ {
		if !taken[n] {
			return n
		}
		n = name + "-flag"
		if i > 1 {
			n = fmt.Sprintf("%s-flag-%d", name, i)
		}
	}
}

// applyObserve lays the --observe flags over the file's observe section.
func (c *Config) applyObserve(o Overrides) error {
	if o.Observe != nil {
		names, err := observe.ParseNames(*o.Observe)
		if err != nil {
			return fmt.Errorf("--observe: %w", err)
		}
		c.Observe.Observers = names
	}
	if o.ObserveCgroups != nil {
		if *o.ObserveCgroups < 0 {
			return fmt.Errorf("--observe-cgroups %d: want a positive count, or 0 for the default", *o.ObserveCgroups)
		}
		c.Observe.Cgroups = *o.ObserveCgroups
	}
	if o.ObserveMaxSeries != nil {
		if *o.ObserveMaxSeries < 0 {
			return fmt.Errorf("--observe-max-series %d: want a positive count, or 0 for the default", *o.ObserveMaxSeries)
		}
		c.Observe.MaxSeries = *o.ObserveMaxSeries
	}
	return nil
}
