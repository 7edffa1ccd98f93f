package config

import (
	"fmt"

	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/output/file"
)

// StreamOutput names the output that feeds the local API's live streams;
// configured outputs may not take the name.
const StreamOutput = "api"

// Overrides are command-line flags that override the file; nil (or
// false for Events) means the flag was not given.
type Overrides struct {
	// Output, Format and Events describe one stdout (Output "" or "-")
	// or file output; given, it replaces the file's outputs.
	Output *string
	Format *string
	Events *string
	// MetricsAddress "" turns metrics off.
	MetricsAddress     *string
	MetricsAllowRemote *bool
	BPFStats           *bool
	// Socket "" turns the local API off.
	Socket *string
}

// Apply lays the flags over c. Without outputs in the file or on the
// command line, the agent prints every event to stdout.
func (c *Config) Apply(o Overrides) error {
	if o.Output != nil || o.Format != nil || o.Events != nil || len(c.Outputs) == 0 {
		out, err := flagOutput(o)
		if err != nil {
			return err
		}
		c.Outputs = []Output{out}
	}
	if o.MetricsAddress != nil {
		c.Metrics.Address = metrics.LoopbackByDefault(*o.MetricsAddress)
	}
	if o.MetricsAllowRemote != nil {
		c.Metrics.AllowNonLoopback = *o.MetricsAllowRemote
	}
	if o.BPFStats != nil {
		c.Metrics.BPFStats = *o.BPFStats
	}
	if c.Metrics.Address != "" {
		if err := metrics.CheckAddress(c.Metrics.Address, c.Metrics.AllowNonLoopback); err != nil {
			return fmt.Errorf("--metrics-addr %w", err)
		}
	}
	if o.Socket != nil {
		c.API.Socket = *o.Socket
	}
	return nil
}

func flagOutput(o Overrides) (Output, error) {
	get := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	var format output.Format
	if f := get(o.Format); f != "" {
		var err error
		if format, err = output.ParseFormat(f); err != nil {
			return Output{}, fmt.Errorf("--format: %w", err)
		}
	}
	filter := output.All()
	switch get(o.Events) {
	case "", "all":
	case "alerts":
		filter.Events = false
	default:
		return Output{}, fmt.Errorf("--events %q: want all or alerts", get(o.Events))
	}
	path := get(o.Output)
	if path == "" || path == "-" {
		return Output{Name: TypeStdout, Type: TypeStdout, Filter: filter, Stdout: &StdoutOptions{Format: format}}, nil
	}
	if format == "" {
		format = output.FormatJSON
	}
	// a file named on the command line is appended to, never rotated
	return Output{Name: TypeFile, Type: TypeFile, Filter: filter, File: &file.Options{Path: path, Format: format}}, nil
}
