package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/cilium/ebpf"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/output"
)

// NewRegistry registers vigil's collector, the process collector (agent
// CPU, RSS, open files), the Go runtime collector and vigil_build_info.
func NewRegistry(src Sources, version string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        buildInfo,
		Help:        "Always 1; the labels say which vigil runs.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	info.Set(1)
	reg.MustRegister(append(runtimeCollectors(), NewCollector(src), info)...)
	if src.Intel != nil {
		reg.MustRegister(src.Intel)
	}
	return reg
}

const buildInfo = "vigil_build_info"

// runtimeCollectors are the agent process's and the Go runtime's.
func runtimeCollectors() []prometheus.Collector {
	return []prometheus.Collector{
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	}
}

// Declared is every metric family a registry made by NewRegistry serves,
// with its type: vigil's own as the Collector declares them,
// vigil_build_info, and the families of the process and Go runtime
// collectors (gathered, as they do not depend on the agent). It needs no
// running agent: tests check the Grafana dashboard's queries against it.
func Declared() (map[string]dto.MetricType, error) {
	out := map[string]dto.MetricType{buildInfo: dto.MetricType_GAUGE}
	for _, m := range newDescs(output.PodLabels{}).declared {
		out[m.name] = m.typ
	}
	maps.Copy(out, intel.MetricFamilies())
	reg := prometheus.NewRegistry()
	reg.MustRegister(runtimeCollectors()...)
	fams, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	for _, f := range fams {
		out[f.GetName()] = f.GetType()
	}
	return out, nil
}

// EnableBPFStats switches kernel.bpf_stats_enabled on until the returned
// Closer is closed (the kernel counts the holders, so other tools that
// enabled it keep it).
func EnableBPFStats() (io.Closer, error) {
	c, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		return nil, fmt.Errorf("enable BPF run-time statistics (needs Linux 5.8 and CAP_SYS_ADMIN): %w", err)
	}
	return c, nil
}

// ServerOptions configure the metrics endpoint.
type ServerOptions struct {
	// Address is host:port; it must be loopback unless AllowNonLoopback.
	Address          string
	AllowNonLoopback bool
	Registry         *prometheus.Registry
	// Ready says whether the agent is ready: nil when its sensors are
	// attached and its pipeline reads.
	Ready func() error
	Log   *slog.Logger
}

// Server serves /metrics, /healthz and /readyz.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen checks the address and binds it, so that a wrong or busy address
// fails at start; Serve answers requests.
func Listen(opts ServerOptions) (*Server, error) {
	if err := CheckAddress(opts.Address, opts.AllowNonLoopback); err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", opts.Address)
	if err != nil {
		return nil, listenError(opts.Address, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(opts.Log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if opts.Ready != nil {
			if err := opts.Ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(opts.Log.Handler(), slog.LevelWarn)}
	return &Server{srv: srv, ln: ln}, nil
}

// listenError says what to do about an address that cannot be bound.
func listenError(addr string, err error) error {
	switch {
	case errors.Is(err, unix.EADDRINUSE):
		return fmt.Errorf("metrics: %s is already in use (another vigil, or another exporter, listens there): "+
			"stop it, or choose another --metrics-addr (metrics.address in the configuration file); "+
			"127.0.0.1:0 takes any free port: %w", addr, err)
	case errors.Is(err, unix.EADDRNOTAVAIL):
		return fmt.Errorf("metrics: %s is not an address of this host: choose one it has, e.g. 127.0.0.1:9549: %w", addr, err)
	case errors.Is(err, unix.EACCES):
		return fmt.Errorf("metrics: binding %s is not permitted (ports below 1024 need CAP_NET_BIND_SERVICE): "+
			"choose a port from 1024 up, e.g. 127.0.0.1:9549: %w", addr, err)
	}
	return fmt.Errorf("metrics: listen on %s: %w", addr, err)
}

// Addr is the bound address (with the port chosen when :0 was asked).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve answers requests until Shutdown.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// Shutdown stops serving, letting requests in flight finish, and frees the
// address, also when Serve never ran (the agent binds before it loads
// and may stop before it serves).
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if cerr := s.ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		err = errors.Join(err, cerr)
	}
	return err
}

// LoopbackByDefault puts an address without a host (":9549") on
// 127.0.0.1, rather than on every interface.
func LoopbackByDefault(addr string) string {
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// CheckAddress checks a host:port to serve metrics on. Unless allowAny,
// the host must be loopback: metrics name binaries, rules and containers,
// and are not served to the network by accident.
func CheckAddress(addr string, allowAny bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want host:port, e.g. 127.0.0.1:9549", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	if allowAny || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address: metrics stay on 127.0.0.1 or [::1] unless "+
		"--metrics-allow-remote (or metrics.allow_non_loopback: true) says otherwise", addr)
}
