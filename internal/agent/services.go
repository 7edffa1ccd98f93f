package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/output"
)

// Outputs are the configured outputs behind one fan-out, plus the hub
// that feeds the local API's live streams. The fan-out is the agent's
// Config.Sink.
type Outputs struct {
	Fanout *output.Fanout
	Hub    *api.Hub
}

// OpenOutputs opens the configured outputs and the stream hub.
func OpenOutputs(outs []config.Output, env config.Env, log *slog.Logger) (*Outputs, error) {
	routes, err := config.OpenOutputs(outs, env)
	if err != nil {
		return nil, err
	}
	hub := api.NewHub()
	routes = append(routes, output.Route{Name: config.StreamOutput, Type: "api", Sink: hub,
		Filter: output.All(), Queue: api.SubscriberBuffer})
	fan, err := output.NewFanout(routes, output.FanoutOptions{Log: log})
	if err != nil {
		for _, r := range routes {
			r.Sink.Close()
		}
		return nil, err
	}
	return &Outputs{Fanout: fan, Hub: hub}, nil
}

// Close writes what the outputs hold (bounded by their drain timeout) and
// closes them, ending the live streams.
func (o *Outputs) Close() error { return o.Fanout.Close() }

// ServeConfig says what runs beside the pipeline.
type ServeConfig struct {
	Version string
	Outputs *Outputs
	Metrics config.Metrics
	// Socket is the local API's socket; "" runs no API.
	Socket string
	// SocketOptional runs without the API, with a warning, when another
	// agent already serves on Socket (the default socket, not one asked
	// for).
	SocketOptional bool
	Log            *slog.Logger
}

// Services are the metrics endpoint and the local API of a running agent.
type Services struct {
	metrics  *metrics.Server
	api      *api.Server
	bpfStats io.Closer
	served   chan error
	log      *slog.Logger
}

// Serve starts the metrics endpoint and the local API; both read the
// agent's counters from their own goroutines. Stop them with Close
// before closing the agent.
func (a *Agent) Serve(c ServeConfig) (_ *Services, err error) {
	if c.Log == nil {
		c.Log = a.log
	}
	s := &Services{served: make(chan error, 1), log: c.Log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if c.Metrics.BPFStats {
		if s.bpfStats, err = metrics.EnableBPFStats(); err != nil {
			return nil, err
		}
	}
	var outs metrics.Outputs
	var hub *api.Hub
	var streams metrics.Streams
	if c.Outputs != nil {
		outs, hub, streams = c.Outputs.Fanout, c.Outputs.Hub, c.Outputs.Hub
	}
	if c.Metrics.Address != "" {
		reg := metrics.NewRegistry(metrics.Sources{Pipeline: a, Outputs: outs, Streams: streams, BPFStats: s.bpfStats != nil}, c.Version)
		s.metrics, err = metrics.Listen(metrics.ServerOptions{Address: c.Metrics.Address,
			AllowNonLoopback: c.Metrics.AllowNonLoopback, Registry: reg, Ready: a.Ready, Log: c.Log})
		if err != nil {
			return nil, err
		}
		go func() { s.served <- s.metrics.Serve() }()
		c.Log.Info("serving metrics", "address", "http://"+s.metrics.Addr()+"/metrics")
	}
	if c.Socket != "" {
		metricsAddr := ""
		if s.metrics != nil {
			metricsAddr = s.metrics.Addr()
		}
		s.api, err = api.Listen(api.Options{Socket: c.Socket, Version: c.Version, Node: a.cfg.Node,
			PID: os.Getpid(), Started: a.started, Pipeline: a, Outputs: outs, Hub: hub,
			MetricsAddress: metricsAddr, BPFStats: s.bpfStats != nil, Policies: a.policyAPI(), Log: c.Log})
		switch {
		case errors.Is(err, api.ErrInUse) && c.SocketOptional:
			c.Log.Warn("local API off: vigil status and vigil events will reach the other agent", "err", err)
			s.api, err = nil, nil
		case err != nil:
			return nil, err
		default:
			c.Log.Info("serving the local API", "socket", c.Socket)
		}
	}
	return s, nil
}

// MetricsAddr is where metrics are served, "" if nowhere.
func (s *Services) MetricsAddr() string {
	if s.metrics == nil {
		return ""
	}
	return s.metrics.Addr()
}

// Close stops serving, removes the socket and switches BPF statistics
// off again.
func (s *Services) Close() error {
	var errs []error
	if s.api != nil {
		errs = append(errs, s.api.Close())
		s.api = nil
	}
	if s.metrics != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, s.metrics.Shutdown(ctx))
		cancel()
		errs = append(errs, <-s.served)
		s.metrics = nil
	}
	if s.bpfStats != nil {
		errs = append(errs, s.bpfStats.Close())
		s.bpfStats = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop services: %w", err)
	}
	return nil
}
