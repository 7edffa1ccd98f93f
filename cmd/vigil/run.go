package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/enforce"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/file"
	"github.com/vigil-sec/vigil/internal/sensor/network"
	"github.com/vigil-sec/vigil/internal/sensor/privilege"
)

type runFlags struct {
	format        string
	events        string
	output        string
	ringSize      string
	flushInterval time.Duration
	procCache     int
	exitGrace     time.Duration
	ancestors     int
	cgroup        string
	node          string
	logLevel      string
	dnsPorts      []uint
	netUnix       bool
	watchPaths    []string
	watchWrites   []string
	cpuProfile    string
	memProfile    string
	configFile    string
	metricsAddr   string
	metricsRemote bool
	bpfStats      bool
	metricsK8s    []string
	observe       []string
	observeCg     int
	observeSeries int
	socket        string
	apiReadGroup  string
	policies      []string
	pinDir        string
	stateDir      string
	enforce       bool
	lsm           bool
	missingCalls  bool
	watchConfig   bool
	intel         []string
	intelMode     string
	intelKeyFile  string
	dropsInterval time.Duration
	memoryLimit   string
	// changed says which flags were given; nil takes every field as given
	changed func(flag string) bool
	rules   ruleFlags
	kube    kubeFlags
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent: watch the kernel and print what happens",
		Long: `Run loads vigil's eBPF sensors, snapshots the processes already running,
and prints one line per event until it is stopped with SIGINT or SIGTERM.
It then detaches everything, flushes, and prints a summary of what it saw
and dropped to stderr. It needs root.`,
		Example: `  # watch this host with the default rules: alerts, readable on a terminal
  sudo vigil run

  # every event and the alerts, with your rules after the default pack
  # (a change to them, or kill -HUP, reloads them; an invalid set is
  # rejected and logged with file and line, and the running set stays)
  sudo vigil run --events all --rules /etc/vigil/rules.d/

  # JSON lines into a file, for another tool to read
  sudo vigil run --format json --output /var/log/vigil/events.json

  # only what happens inside one cgroup (v2) and its children
  sudo vigil run --cgroup system.slice/nginx.service

  # outputs, filters and more from a file (docs/configuration.md)
  sudo vigil run --config /etc/vigil/vigil.yaml

  # Prometheus metrics on 127.0.0.1:9549, with BPF program run times
  sudo vigil run --metrics-addr :9549 --bpf-stats

  # enforce a policy file (docs/policies.md); vigil policy apply adds more
  sudo vigil run --policy /etc/vigil/policies/lock-down.yaml

  # kill binaries and refuse addresses that CIRCL's OSINT feed lists
  sudo vigil run --intel misp-feed=https://www.circl.lu/doc/misp/feed-osint/ --intel-mode enforce`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.changed = cmd.Flags().Changed
			return runAgent(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "", "output format: json or text (default: text on a terminal, json otherwise)")
	fl.StringVar(&f.events, "events", "alerts", "what to print: alerts (rule matches only) or all (every event and the alerts)")
	fl.StringVarP(&f.output, "output", "o", "", "write to this file (mode 0600, appended) instead of stdout")
	fl.StringVar(&f.ringSize, "ring-buffer", "8MiB", "kernel ring buffer size, a power of two (e.g. 4MiB, 16MiB)")
	fl.DurationVar(&f.flushInterval, "flush-interval", 5*time.Millisecond, "longest time an event waits in the ring buffer on an idle system")
	fl.IntVar(&f.procCache, "proc-cache-size", proctree.DefaultConfig().MaxEntries, "most processes the process cache holds")
	fl.DurationVar(&f.exitGrace, "exit-grace", proctree.DefaultConfig().ExitGrace, "how long exited processes stay in the process cache")
	fl.IntVar(&f.ancestors, "ancestors", proctree.DefaultConfig().AncestorDepth, "ancestors listed above the parent in each event")
	fl.StringVar(&f.cgroup, "cgroup", "", "only watch this cgroup v2 directory and its children (path below the cgroup2 mount)")
	fl.StringVar(&f.node, "node", "", "node name in events (default: the hostname)")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level on stderr: debug, info, warn, error")
	fl.UintSliceVar(&f.dnsPorts, "dns-port", []uint{53}, "UDP ports whose traffic is parsed as DNS queries (repeat or comma-separate; at most 8; 0 for none)")
	fl.BoolVar(&f.netUnix, "net-unix", false, "also report unix sockets (connect, accept, listen, bind, fd_redirect)")
	fl.StringArrayVar(&f.watchPaths, "watch-path", nil, "also report every access (reads included) below this directory (repeat for more)")
	fl.StringArrayVar(&f.watchWrites, "watch-writes", nil, "also report changes below this directory: writes, unlink, rename, chmod, … (repeat for more)")
	fl.StringVar(&f.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the agent to this file")
	_ = fl.MarkHidden("cpu-profile") // for developers chasing the agent's own cost
	fl.StringVar(&f.memProfile, "mem-profile", "", "write a Go heap profile (in use and allocated) of the agent to this file when it is told to stop, before it lets go of anything")
	_ = fl.MarkHidden("mem-profile")
	fl.StringVarP(&f.configFile, "config", "c", "", "configuration file (YAML): outputs, filters, metrics, API, rules; flags override it")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics, /healthz and /readyz on host:port (\":9549\" means 127.0.0.1:9549)")
	fl.BoolVar(&f.metricsRemote, "metrics-allow-remote", false, "allow --metrics-addr on an address other than loopback")
	fl.StringSliceVar(&f.observe, "observe", nil, "performance observers to run: cpu, memory, network, io (comma-separated), all, or none (default: all; docs/observe.md)")
	fl.IntVar(&f.observeCg, "observe-cgroups", 0, "cgroups each observer's kernel table holds (0: 4096)")
	fl.IntVar(&f.observeSeries, "observe-max-series", 0, "cgroups the observers' metrics keep apart; the rest are added into one _other series (0: 1000)")
	fl.StringSliceVar(&f.metricsK8s, "metrics-k8s-labels", nil, "label alert metrics with the pod's namespace, pod and/or workload (comma-separated; none by default: each multiplies the series)")
	fl.BoolVar(&f.bpfStats, "bpf-stats", false, "switch on kernel.bpf_stats_enabled while running, to export BPF program run counts and times")
	fl.StringVar(&f.socket, "socket", config.DefaultSocket, "local API socket for vigil status and vigil events (\"\" for none)")
	fl.StringVar(&f.apiReadGroup, "api-read-group", "", "a group whose members may read the local API (status, events, policy list); only root may change policies")
	fl.StringArrayVar(&f.policies, "policy", nil, "enforce the policies of this file, or of a directory's *.yaml files (docs/policies.md; repeat for more)")
	fl.BoolVar(&f.watchConfig, "watch-config", true, "reload the --rules and --policy files and directories when they change (ConfigMap volumes included); SIGHUP reloads them too")
	fl.StringVar(&f.pinDir, "pin-dir", pinned.DefaultDir, "bpffs directory where enforcement is pinned, so it outlives the agent")
	fl.StringVar(&f.stateDir, "state-dir", enforce.DefaultStateDir, "where policies applied with vigil policy apply are remembered (\"\" to forget them at exit)")
	fl.BoolVar(&f.enforce, "enforce", true, "run the enforce stage (policies, rules with action kill or deny); --enforce=false only detects")
	fl.BoolVar(&f.missingCalls, "watch-missing-syscalls", false, missingCallsHelp)
	fl.BoolVar(&f.lsm, "lsm", false, "also load the BPF LSM tier (refuse with EPERM) where the kernel runs BPF LSM programs")
	fl.StringArrayVar(&f.intel, "intel", nil, "act on the indicators of a threat-intelligence source: misp-feed=URL, misp=URL (API key from "+
		config.MISPKeyEnv+" or --intel-key-file), list=PATH|URL, kunai=PATH|URL (repeat for more; docs/intel.md)")
	fl.StringVar(&f.intelMode, "intel-mode", "monitor", "mode of the --intel sources: monitor (alerts: would_kill, would_deny) or enforce (kill, deny, drop)")
	fl.StringVar(&f.intelKeyFile, "intel-key-file", "", "file holding the MISP API key of --intel misp=URL (instead of "+config.MISPKeyEnv+")")
	fl.DurationVar(&f.dropsInterval, "drops-interval", config.DefaultDropsInterval,
		"shortest time between two drops records, the reports of lost events written to every output (0: none; the log warning stays)")
	fl.StringVar(&f.memoryLimit, "memory-limit", "0", "soft limit of the Go runtime's memory (e.g. 40MiB): the collector works harder near it and returns memory sooner; "+
		"0 leaves the GOMEMLIMIT environment variable or no limit")
	f.rules.register(fl)
	f.kube.register(fl)
	return cmd
}

const missingCallsHelp = "also watch init_module, finit_module, delete_module, kexec_load and kexec_file_load where this kernel " +
	"has no tracepoints for them, through a program on every system call (+50–80 ns per call); the module calls are " +
	"watched that way without this flag wherever the kernel can load modules (vigil probe: module load detection)"

// enforceConfig reads the --policy files; a file with errors stops the
// agent before it starts.
func enforceConfig(f runFlags) (*agent.EnforceConfig, error) {
	if !f.enforce {
		if len(f.policies) > 0 {
			return nil, errors.New("--policy needs the enforce stage: drop --enforce=false")
		}
		return nil, nil
	}
	c := &agent.EnforceConfig{PinDir: f.pinDir, StateDir: f.stateDir, LSM: f.lsm}
	files, err := config.ReadPolicyPaths(f.policies)
	if err != nil {
		return nil, err
	}
	if c.Policies, err = config.ParsePolicyFiles(files); err != nil {
		return nil, err
	}
	return c, nil
}

func runAgent(ctx context.Context, f runFlags, stdout, stderr io.Writer) error {
	if os.Geteuid() != 0 {
		return errors.New("vigil run needs root to load eBPF programs: rerun with sudo")
	}
	// Signals first: loading the sensors takes a while, and a signal that
	// arrives meanwhile must not kill the agent with its default action.
	// SIGINT and SIGTERM then stop it as soon as it runs; a SIGHUP is
	// held and reloads the rules and policy files once it runs.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup, stopHUP := notifyHUP()
	defer stopHUP()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1) // file outputs reopen (logrotate)
	defer signal.Stop(usr1)
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		return err
	}
	log.Debug("signal handlers installed")
	if err := setMemoryLimit(f.memoryLimit); err != nil {
		return err
	}
	if f.memProfile != "" {
		// a finer sample than the default 512 KiB, for a small heap
		runtime.MemProfileRate = memProfileRate
	}
	cfg, err := loadConfig(f)
	if err != nil {
		return err
	}
	if err := cfg.ApplyIntel(config.IntelFlags{Sources: f.intel, Mode: f.intelMode, KeyFile: f.intelKeyFile}); err != nil {
		return err
	}
	var intelCfg *agent.IntelConfig
	if len(cfg.Intel.Sources) > 0 {
		intelCfg = &agent.IntelConfig{Intel: cfg.Intel}
	}
	if err := f.rules.withConfig(cfg.Rules, f.given); err != nil {
		return err
	}
	kc, err := kubeConfig(f, cfg.Kubernetes)
	if err != nil {
		return err
	}
	if kc != nil && f.node == "" {
		f.node = kc.Node // events name the node as Kubernetes does
	}
	owner, err := ownerWatch(f, kc, log)
	if err != nil {
		return err
	}
	if owner != nil {
		defer owner.Close() // for the early returns; a second Close is a no-op
	}
	ringSize, err := ringBufferSize(f.ringSize)
	if err != nil {
		return err
	}
	netCfg, err := networkConfig(f)
	if err != nil {
		return err
	}
	netCfg.NoPayload = !cfg.NetworkPayload
	fileCfg, err := fileConfig(f)
	if err != nil {
		return err
	}
	outs, err := agent.OpenOutputs(cfg.Outputs, config.Env{Stdout: stdout, Terminal: isTerminal(stdout),
		Node: f.node, UserAgent: "vigil/" + vigilVersion()}, cfg.Metrics.PodLabels, log)
	if err != nil {
		return err
	}
	defer func() { _ = outs.Close() }() // for the early returns: the Close below is checked
	var policyPaths []string
	if f.enforce {
		policyPaths = f.policies
	}
	reload := newReloader(f.rules, policyPaths, log) // before they are read
	rules, err := f.rules.load(log)
	if err != nil {
		return err
	}
	enf, err := enforceConfig(f)
	if err != nil {
		return err
	}

	rc := ring.DefaultConfig()
	rc.Size = ringSize
	rc.FlushInterval = f.flushInterval
	a, err := agent.New(agent.Config{
		Node:       f.node,
		Ring:       rc,
		ProcTree:   proctree.Config{MaxEntries: f.procCache, ExitGrace: f.exitGrace, AncestorDepth: f.ancestors},
		Cgroup:     f.cgroup,
		Network:    netCfg,
		File:       fileCfg,
		ProcessEnv: cfg.ProcessEnv,
		Privilege:  privilege.Options{MissingSyscalls: f.missingCalls},
		Rules:      rules,
		Enforce:    enf,
		Kubernetes: kc,
		Intel:      intelCfg,
		Observe:    cfg.Observe,
		// 0 in the file or on the command line: no record, the log still says
		DropsInterval: cmp.Or(cfg.Drops.Interval, -1),
		Sink:          outs.Fanout,
		// bound before the sensors load, so that a busy port fails at once
		Serve: &agent.ServeConfig{Version: vigilVersion(), Outputs: outs, Metrics: cfg.Metrics, Socket: cfg.API.Socket,
			SocketOptional: cfg.API.Socket == config.DefaultSocket, ReadGID: cfg.API.ReadGID, Log: log},
		Log: log,
	})
	if err != nil {
		return err
	}
	svc := a.Services()
	if n, err := trimAfterStart(); err != nil {
		log.Warn("start-up memory not given back", "err", err)
	} else {
		log.Debug("start-up memory given back", "binary_mappings_bytes", n)
	}
	if f.cpuProfile != "" {
		stopProfile, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer func() {
			if err := stopProfile(); err != nil {
				log.Warn("cpu profile", "err", err)
			}
		}()
	}
	defer reload.run(ctx, a, hup, f.watchConfig)()
	defer reopenOnUSR1(ctx, usr1, outs.Fanout, log)()
	runErr := a.Run(ctx)
	if f.memProfile != "" {
		// before anything closes: what the running agent held
		if err := writeHeapProfile(f.memProfile); err != nil {
			log.Warn("heap profile", "err", err)
		}
	}
	// the outputs write what they hold (live streams get it too), then
	// the servers stop, then the agent lets go of the kernel
	outErr := outs.Close()
	svcErr := svc.Close()
	summary, sumErr := a.Summary()
	// the summary names outputs and rules and quotes their errors
	safe := termsafe.NewWriter(stderr)
	fmt.Fprintln(safe, summary)
	fmt.Fprintln(safe, output.Summary(outs.Fanout.Stats()))
	if st := outs.Hub.StreamStats(); st.Dropped > 0 {
		fmt.Fprintf(safe, "live streams (vigil events): dropped %d lines for readers too slow to keep up\n", st.Dropped)
	}
	if rules != nil {
		fmt.Fprintln(safe, ruleSummary(a.RuleStats()))
	}
	closeErr := a.Close()
	return errors.Join(runErr, outErr, svcErr, sumErr, closeErr, releaseIfUninstalled(owner, f.pinDir, log))
}

// fileConfig adds the directories of --watch-path and --watch-writes to
// the file sensor's default watch set.
func fileConfig(f runFlags) (file.Config, error) {
	cfg := file.DefaultConfig()
	cfg.Watch = append(cfg.Watch, f.watchPaths...)
	cfg.WatchWrites = append(cfg.WatchWrites, f.watchWrites...)
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("--watch-path/--watch-writes: %w", err)
	}
	return cfg, nil
}

// networkConfig turns the network flags into the sensor's configuration.
func networkConfig(f runFlags) (network.Config, error) {
	cfg := network.DefaultConfig()
	cfg.Unix = f.netUnix
	cfg.DNSPorts = []uint16{}
	if len(f.dnsPorts) == 1 && f.dnsPorts[0] == 0 {
		return cfg, nil // DNS off
	}
	for _, p := range f.dnsPorts {
		if p == 0 || p > 65535 {
			return cfg, fmt.Errorf("--dns-port %d: want a port from 1 to 65535", p)
		}
		cfg.DNSPorts = append(cfg.DNSPorts, uint16(p))
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("--dns-port: %w", err)
	}
	return cfg, nil
}

// given says whether a flag was given on the command line.
func (f runFlags) given(flag string) bool { return f.changed == nil || f.changed(flag) }

// loadConfig reads --config, if given, and lays the flags given over it.
func loadConfig(f runFlags) (*config.Config, error) {
	cfg := config.Default()
	if f.configFile != "" {
		var err error
		if cfg, err = config.Load(f.configFile); err != nil {
			return nil, err
		}
	}
	given := f.given
	// the output flags given make the only output when the file names
	// none; otherwise they change the file's stdout output or add one,
	// and the file's other outputs stay (config.Apply)
	o := config.Overrides{
		DefaultEvents:      f.events,
		Output:             ifGiven(given, "output", &f.output),
		Format:             ifGiven(given, "format", &f.format),
		Events:             ifGiven(given, "events", &f.events),
		MetricsAddress:     ifGiven(given, "metrics-addr", &f.metricsAddr),
		MetricsAllowRemote: ifGiven(given, "metrics-allow-remote", &f.metricsRemote),
		BPFStats:           ifGiven(given, "bpf-stats", &f.bpfStats),
		MetricsK8sLabels:   ifGiven(given, "metrics-k8s-labels", &f.metricsK8s),
		Observe:            ifGiven(given, "observe", &f.observe),
		ObserveCgroups:     ifGiven(given, "observe-cgroups", &f.observeCg),
		ObserveMaxSeries:   ifGiven(given, "observe-max-series", &f.observeSeries),
		APIReadGroup:       ifGiven(given, "api-read-group", &f.apiReadGroup),
		DropsInterval:      ifGiven(given, "drops-interval", &f.dropsInterval),
	}
	if given("socket") || f.configFile == "" {
		o.Socket = &f.socket
	}
	return cfg, cfg.Apply(o)
}

// ifGiven is v when the flag was given, nil (the file's value) otherwise.
func ifGiven[T any](given func(string) bool, flag string, v *T) *T {
	if given(flag) {
		return v
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// ringBufferSize reads --ring-buffer with the config file's size parser:
// a power of two of at least a page, as the kernel wants it.
func ringBufferSize(s string) (int, error) {
	n, err := config.ParseSize(s)
	if err != nil {
		return 0, fmt.Errorf("--ring-buffer: %w", err)
	}
	page := int64(os.Getpagesize())
	if n < page || n > 1<<30 || n&(n-1) != 0 {
		return 0, fmt.Errorf("--ring-buffer %s: want a power of two from %dKiB to 1GiB, e.g. 8MiB", s, page>>10)
	}
	return int(n), nil
}

func startCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close() // nothing written
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func() error { pprof.StopCPUProfile(); return f.Close() }, nil
}

// memProfileRate is the heap profile's sampling interval with --mem-profile:
// one sample every 16 KiB allocated on average.
const memProfileRate = 16 << 10

// writeHeapProfile writes the heap profile (what is in use after a
// collection, and what was allocated since start) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--mem-profile: %w", err)
	}
	runtime.GC() // the in-use figures are those of the last collection
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return fmt.Errorf("--mem-profile: %w", err)
	}
	return f.Close()
}

// reopenOnUSR1 reopens the file outputs on every SIGUSR1, so that
// logrotate can move a file away and have the agent write a new one
// (postrotate: kill -USR1). The returned function stops it.
func reopenOnUSR1(ctx context.Context, usr1 <-chan os.Signal, fan *output.Fanout, log *slog.Logger) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-usr1:
				names, err := fan.Reopen()
				if err != nil {
					log.Error("output files not all reopened", "err", err)
				}
				log.Info("output files reopened", "outputs", names)
			}
		}
	}()
	return func() { cancel(); <-done }
}
