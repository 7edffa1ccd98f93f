package config

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/output/file"
	"github.com/vigil-sec/vigil/internal/output/syslog"
	"github.com/vigil-sec/vigil/internal/output/webhook"
)

// Output types.
const (
	TypeStdout  = "stdout"
	TypeFile    = "file"
	TypeSyslog  = "syslog"
	TypeWebhook = "webhook"
)

// Output is one configured output: a sink and what it receives.
type Output struct {
	Name   string
	Type   string
	Filter output.Filter
	// Queue bounds what waits for the output; 0 means the default.
	Queue int
	// Line is where the output is defined, for later messages.
	Line int

	// One of these is set, according to Type.
	Stdout  *StdoutOptions
	File    *file.Options
	Syslog  *syslog.Options
	Webhook *webhook.Options
}

// StdoutOptions configure the stdout output. An empty Format picks text
// on a terminal and JSON otherwise.
type StdoutOptions struct {
	Format output.Format
}

func (d *decoder) outputs(n *yaml.Node, field string) []Output {
	var outs []Output
	types := map[string]int{}
	for i, item := range d.sequence(n, field) {
		o := d.output(item, fmt.Sprintf("%s[%d]", field, i))
		types[o.Type]++
		outs = append(outs, o)
	}
	// unnamed outputs are named after their type, numbered when the type
	// repeats; names must be unique
	seen := map[string]int{}
	for i := range outs {
		o := &outs[i]
		if o.Name == "" {
			o.Name = o.Type
			if types[o.Type] > 1 {
				o.Name = fmt.Sprintf("%s-%d", o.Type, i)
			}
		}
		if o.Name == StreamOutput {
			d.errs = append(d.errs, &Error{File: d.file, Line: o.Line, Field: fmt.Sprintf("%s[%d].name", field, i),
				Msg: fmt.Sprintf("%q is the live streams' output: choose another name", o.Name)})
		}
		if first, dup := seen[o.Name]; dup {
			d.errs = append(d.errs, &Error{File: d.file, Line: o.Line, Field: fmt.Sprintf("%s[%d].name", field, i),
				Msg: fmt.Sprintf("%q is already the name of outputs[%d]: names must be unique", o.Name, first)})
		}
		seen[o.Name] = i
	}
	return outs
}

func (d *decoder) output(n *yaml.Node, field string) Output {
	o := Output{Line: resolve(n).Line}
	sinks := []string{TypeStdout, TypeFile, TypeSyslog, TypeWebhook}
	f, ok := d.mapping(n, field, append([]string{"name", "filter", "queue"}, sinks...)...)
	if !ok {
		return o
	}
	for _, t := range sinks {
		if f[t] == nil {
			continue
		}
		if o.Type != "" {
			d.errorf(f[t], join(field, t), "an output has one sink: this one is already %s; make another list item", o.Type)
			continue
		}
		o.Type = t
	}
	if o.Type == "" {
		d.errorf(n, field, "no sink: add one of %s", strings.Join(sinks, ", "))
		return o
	}
	decodeKey(f, field, "name", &o.Name, d.str)
	decodeKey(f, field, "queue", &o.Queue, d.atLeast(1))
	sf := join(field, o.Type)
	switch o.Type {
	case TypeStdout:
		o.Stdout = d.stdoutOutput(f[o.Type], sf)
	case TypeFile:
		o.File = d.fileOutput(f[o.Type], sf)
	case TypeSyslog:
		o.Syslog = d.syslogOutput(f[o.Type], sf)
	case TypeWebhook:
		o.Webhook = d.webhookOutput(f[o.Type], sf)
	}
	// a webhook takes alerts only unless told otherwise: events are too
	// many for most HTTP receivers
	o.Filter = output.Filter{Events: o.Type != TypeWebhook, Alerts: true}
	if v := f["filter"]; v != nil {
		d.filter(v, field+".filter", &o.Filter)
	}
	if o.Webhook != nil && o.Webhook.Payload == webhook.PayloadFalco && o.Filter.Events {
		d.errorf(f["filter"], field+".filter.events", "the falco payload carries alerts only: set events: false")
	}
	return o
}

// filter reads into f, which holds the output type's defaults. Naming
// rules or a minimum severity implies alerts only, unless events is set.
func (d *decoder) filter(n *yaml.Node, field string, f *output.Filter) {
	m, ok := d.mapping(n, field, "events", "alerts", "kinds", "min_severity", "rules")
	if !ok {
		return
	}
	if m["rules"] != nil || m["min_severity"] != nil {
		f.Events = false
	}
	decodeKey(m, field, "events", &f.Events, d.boolean)
	decodeKey(m, field, "alerts", &f.Alerts, d.boolean)
	if v := m["kinds"]; v != nil {
		for i, k := range d.strings(v, field+".kinds") {
			if !knownKind(event.Kind(k)) {
				d.errorf(resolve(v), fmt.Sprintf("%s.kinds[%d]", field, i), "unknown event kind %q: see docs/events.md for the kinds", k)
			}
			f.Kinds = append(f.Kinds, event.Kind(k))
		}
	}
	decodeKey(m, field, "min_severity", &f.MinSeverity, parsed(d, output.ParseSeverity))
	decodeKey(m, field, "rules", &f.Rules, d.strings)
	if err := f.Validate(); err != nil {
		d.errorf(n, field, "%v", err)
	}
}

func (d *decoder) stdoutOutput(n *yaml.Node, field string) *StdoutOptions {
	o := &StdoutOptions{}
	if resolve(n).Tag == "!!null" {
		return o // "stdout:" alone takes the defaults
	}
	f, ok := d.mapping(n, field, "format")
	if !ok {
		return o
	}
	decodeKey(f, field, "format", &o.Format, parsed(d, output.ParseFormat))
	return o
}

func (d *decoder) fileOutput(n *yaml.Node, field string) *file.Options {
	o := &file.Options{Format: output.FormatJSON, MaxSize: 100 << 20, MaxBackups: 5, Compress: true}
	f, ok := d.mapping(n, field, "path", "format", "max_size", "max_backups", "compress")
	if !ok {
		return o
	}
	if v := f["path"]; v != nil {
		o.Path = d.str(v, field+".path")
	} else {
		d.errorf(n, field+".path", "missing: where to write, e.g. /var/log/vigil/events.json")
	}
	decodeKey(f, field, "format", &o.Format, parsed(d, output.ParseFormat))
	decodeKey(f, field, "max_size", &o.MaxSize, d.size)
	decodeKey(f, field, "max_backups", &o.MaxBackups, d.atLeast(0))
	decodeKey(f, field, "compress", &o.Compress, d.boolean)
	return o
}

func (d *decoder) syslogOutput(n *yaml.Node, field string) *syslog.Options {
	o := &syslog.Options{Address: syslog.DefaultAddress, Facility: 16, Format: output.FormatJSON}
	if resolve(n).Tag == "!!null" {
		return o
	}
	f, ok := d.mapping(n, field, "address", "facility", "app_name", "format", "timeout")
	if !ok {
		return o
	}
	if v := f["address"]; v != nil {
		o.Address = d.str(v, field+".address")
		if _, _, err := syslog.ParseAddress(o.Address); err != nil {
			d.errorf(v, field+".address", "%v", err)
		}
	}
	decodeKey(f, field, "facility", &o.Facility, parsed(d, syslog.ParseFacility))
	decodeKey(f, field, "app_name", &o.AppName, d.str)
	decodeKey(f, field, "format", &o.Format, parsed(d, output.ParseFormat))
	decodeKey(f, field, "timeout", &o.Timeout, d.duration)
	return o
}

// secret reads a value given inline or, better, in a file (which keeps it
// out of the config and of process listings).
func (d *decoder) secret(f map[string]*yaml.Node, key, field string) string {
	inline, fromFile := f[key], f[key+"_file"]
	if inline != nil && fromFile != nil {
		d.errorf(fromFile, join(field, key+"_file"), "set %s or %s_file, not both", key, key)
	}
	if inline != nil {
		return d.str(inline, join(field, key))
	}
	if fromFile == nil {
		return ""
	}
	path := d.str(fromFile, join(field, key+"_file"))
	raw, err := os.ReadFile(path)
	if err != nil {
		d.errorf(fromFile, join(field, key+"_file"), "%v", err)
		return ""
	}
	return strings.TrimSpace(string(raw))
}

// knownKind says whether an output filter may name k: the table of kinds
// says it reaches outputs.
func knownKind(k event.Kind) bool {
	row, ok := event.LookupKind(k)
	return ok && row.Output
}
