package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// OpenOutputs opens the configured outputs and the stream hub. The
// fan-out counts alerts apart by the pod labels the metrics carry.
func OpenOutputs(outs []config.Output, env config.Env, podLabels output.PodLabels, log *slog.Logger) (*Outputs, error) {
	routes, err := config.OpenOutputs(outs, env)
	if err != nil {
		return nil, err
	}
	hub := api.NewHub()
	routes = append(routes, output.Route{Name: config.StreamOutput, Type: "api", Sink: hub,
		Filter: output.All(), Queue: api.SubscriberBuffer})
	fan, err := output.NewFanout(routes, output.FanoutOptions{AlertLabels: podLabels, Log: log})
	if err != nil {
		for _, r := range routes {
			_ = r.Sink.Close() // best effort: err is what failed
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
	// ReadGID is a group that may read the API (0: root only).
	ReadGID int
	Log     *slog.Logger
}

// Services are the metrics endpoint and the local API of a running agent.
type Services struct {
	metrics  *metrics.Server
	api      *api.Server
	apiLn    net.Listener // the API's socket, bound and not yet served
	cfg      ServeConfig
	bpfStats io.Closer
	served   chan error
	serving  bool // metrics served: Close waits for served
	log      *slog.Logger
}

// Serve starts the metrics endpoint and the local API; both read the
// agent's counters from their own goroutines. Stop them with Close
// before closing the agent. Config.Serve does the same from New, binding
// before the sensors load.
func (a *Agent) Serve(c ServeConfig) (_ *Services, err error) {
	s, err := a.listen(c)
	if err != nil {
		return nil, err
	}
	s.serve(a)
	return s, nil
}

// listen binds the metrics address and the API socket without serving,
// so that a busy port or socket fails before anything is loaded.
func (a *Agent) listen(c ServeConfig) (_ *Services, err error) {
	if c.Log == nil {
		c.Log = a.log
	}
	s := &Services{served: make(chan error, 1), log: c.Log, cfg: c}
	defer func() {
		if err != nil {
			_ = s.Close() // best effort: err is what failed
		}
	}()
	if c.Metrics.BPFStats {
		if s.bpfStats, err = metrics.EnableBPFStats(); err != nil {
			return nil, err
		}
	}
	var outs metrics.Outputs
	var streams metrics.Streams
	if c.Outputs != nil {
		outs, streams = c.Outputs.Fanout, c.Outputs.Hub
	}
	if c.Metrics.Address != "" {
		// the registry reads the agent only when scraped, once served
		src := metrics.Sources{Pipeline: a, Outputs: outs, Streams: streams, BPFStats: s.bpfStats != nil,
			PodLabels: c.Metrics.PodLabels, MaxSeries: a.cfg.Observe.MaxSeries}
		if len(a.cfg.Observe.Names()) > 0 {
			src.Observe = a
		}
		reg := metrics.NewRegistry(src, c.Version)
		if a.intel != nil {
			reg.MustRegister(a.intel.feed.Collector())
		}
		s.metrics, err = metrics.Listen(metrics.ServerOptions{Address: c.Metrics.Address,
			AllowNonLoopback: c.Metrics.AllowNonLoopback, Registry: reg, Ready: func() error { return ready(a, outs) }, Log: c.Log})
		if err != nil {
			return nil, err
		}
	}
	if c.Socket != "" {
		s.apiLn, err = api.Bind(c.Socket, c.ReadGID)
		switch {
		case errors.Is(err, api.ErrInUse) && c.SocketOptional:
			c.Log.Warn("local API off: vigil status and vigil events will reach the other agent", "err", err)
			s.apiLn, err = nil, nil
		case err != nil:
			return nil, err
		}
	}
	return s, nil
}

// serve answers on what listen bound, once the agent is complete.
func (s *Services) serve(a *Agent) {
	c := s.cfg
	if s.metrics != nil {
		s.serving = true
		go func() { s.served <- s.metrics.Serve() }()
		c.Log.Info("serving metrics", "address", "http://"+s.metrics.Addr()+"/metrics")
	}
	if s.apiLn == nil {
		return
	}
	var outs metrics.Outputs
	var hub *api.Hub
	if c.Outputs != nil {
		outs, hub = c.Outputs.Fanout, c.Outputs.Hub
	}
	// Listen cannot fail with a listener given
	s.api, _ = api.Listen(api.Options{Socket: c.Socket, Listener: s.apiLn, Version: c.Version, Node: a.cfg.Node,
		PID: os.Getpid(), Started: a.started, Pipeline: a, Outputs: outs, Hub: hub,
		MetricsAddress: s.MetricsAddr(), BPFStats: s.bpfStats != nil, Policies: a.policyAPI(), Intel: a.intelAPI(), Modules: a,
		Log: c.Log, ReadGID: c.ReadGID})
	s.apiLn = nil
	c.Log.Info("serving the local API", "socket", c.Socket)
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
	if s.apiLn != nil { // bound, never served
		errs = append(errs, s.apiLn.Close())
		if err := os.Remove(s.cfg.Socket); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		s.apiLn = nil
	}
	if s.api != nil {
		errs = append(errs, s.api.Close())
		s.api = nil
	}
	if s.metrics != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, s.metrics.Shutdown(ctx))
		cancel()
		if s.serving {
			errs = append(errs, <-s.served)
		}
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
