package config

import (
	"errors"
	"fmt"
	"io"

	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/output/file"
	"github.com/vigil-sec/vigil/internal/output/syslog"
	"github.com/vigil-sec/vigil/internal/output/webhook"
)

// Env is what opening outputs takes from the running agent.
type Env struct {
	Stdout io.Writer
	// Terminal says Stdout is a terminal: text then, unless configured.
	Terminal bool
	// Node names this host in syslog headers and falco payloads.
	Node string
	// UserAgent is sent by webhooks.
	UserAgent string
}

// OpenOutputs opens every output's sink and returns the routes for a
// fan-out. If one fails, those already opened are closed again.
func OpenOutputs(outs []Output, env Env) (_ []output.Route, err error) {
	var routes []output.Route
	defer func() {
		if err != nil {
			for _, r := range routes {
				_ = r.Sink.Close() // best effort: err is what failed
			}
		}
	}()
	for _, o := range outs {
		sink, err := open(o, env)
		if err != nil {
			return nil, fmt.Errorf("output %s (line %d): %w", o.Name, o.Line, err)
		}
		routes = append(routes, output.Route{Name: o.Name, Type: o.Type, Sink: sink, Filter: o.Filter, Queue: o.Queue})
	}
	return routes, nil
}

func open(o Output, env Env) (output.Sink, error) {
	switch o.Type {
	case TypeStdout:
		format := o.Stdout.Format
		if format == "" {
			format = output.FormatJSON
			if env.Terminal {
				format = output.FormatText
			}
		}
		if env.Stdout == nil {
			return nil, errors.New("no standard output")
		}
		return output.NewStream(env.Stdout, format), nil
	case TypeFile:
		return file.Open(*o.File)
	case TypeSyslog:
		opts := *o.Syslog
		if opts.Hostname == "" {
			opts.Hostname = env.Node
		}
		return syslog.Open(opts)
	case TypeWebhook:
		opts := *o.Webhook
		if opts.Hostname == "" {
			opts.Hostname = env.Node
		}
		if opts.UserAgent == "" {
			opts.UserAgent = env.UserAgent
		}
		return webhook.New(opts)
	}
	return nil, fmt.Errorf("unknown output type %q", o.Type)
}
