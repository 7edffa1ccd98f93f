// Package agent wires vigil's stages explicitly: kernel set-up, the shared
// ring, the sensors, the process snapshot, then, for every record, decode →
// enrich → output, in one goroutine. cmd/vigil turns flags into a Config.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/binfact"
	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/enforce"
	"github.com/vigil-sec/vigil/internal/enrich"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/kube"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/procfs"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/internal/sensor/file"
	"github.com/vigil-sec/vigil/internal/sensor/network"
	"github.com/vigil-sec/vigil/internal/sensor/privilege"
	"github.com/vigil-sec/vigil/internal/sensor/process"
	"github.com/vigil-sec/vigil/internal/username"
	"github.com/vigil-sec/vigil/internal/wire"
)

// Config is everything the agent needs; cmd/vigil fills it from flags.
type Config struct {
	// Node names this host in events; the hostname by default.
	Node     string
	Ring     ring.Config
	ProcTree proctree.Config
	// Cgroup, when set, limits every sensor to this cgroup v2 directory
	// and its descendants (a path below the cgroup2 mount, or absolute).
	Cgroup string
	// Network tunes the network sensor (DNS ports, unix sockets).
	Network network.Config
	// File says which paths the file sensor watches; nil lists take
	// file.DefaultConfig's.
	File file.Config
	// ProcessEnv names the environment variables exec events carry; nil
	// Names watch process.DefaultEnv's, an empty list none.
	ProcessEnv process.Env
	// Privilege tunes the privilege sensor: MissingSyscalls watches the
	// calls this kernel lacks (modules, kexec) at a price every system
	// call pays; off by default.
	Privilege privilege.Options
	// Rules, when set, matches every event after enrichment and writes
	// alerts to Sink; SetRules replaces it while running.
	Rules *rule.Engine
	// Enforce, when set, runs the enforce stage (policies, and rules
	// with a kill or deny action).
	Enforce *EnforceConfig
	// Sink receives the events the pipeline passes on.
	Sink output.Sink
	// Containers, when set, makes the metadata source (the runtime,
	// Kubernetes) that names containers; it is given the table to update.
	// The pipeline then holds a new container's events until the source
	// settles it, for at most ContainerHold (2 s when zero).
	Containers    func(*container.Table) container.Source
	ContainerHold time.Duration
	// Serve, when set, has New bind the metrics address and the API
	// socket before it loads anything, so that a busy port fails at
	// once, and serve them when it returns; Services returns them.
	Serve *ServeConfig
	// VigilExecutable is the file whose processes are vigil's own
	// (process.is_vigil), known by device and inode, never by name; ""
	// is the running agent's executable, as for vigil run. An agent run
	// inside a test binary names here the vigil binary a test runs.
	VigilExecutable string
	// Kubernetes, when set, watches the node's pods and asks the container
	// runtime, to give containers their pod, name and image; nil leaves
	// the container table without a metadata source.
	Kubernetes *kube.Config
	// Intel, when set, acts on the indicators of threat-intelligence
	// sources (docs/intel.md).
	Intel *IntelConfig
	// Observe says which performance observers run (docs/observe.md).
	Observe observe.Config
	// DropsInterval is the shortest time between two drops records, the
	// reports of what was lost written to every output and to the log
	// (docs/events.md); 0 means DefaultDropsInterval, a negative value
	// writes no record (the log warning stays, at the default interval).
	DropsInterval time.Duration
	Log           *slog.Logger
}

// Agent is a running vigil: loaded sensors and the pipeline behind them.
type Agent struct {
	cfg      Config
	log      *slog.Logger
	clock    *kernel.BootClock
	ring     *ring.Ring
	sensors  []io.Closer
	detachMu sync.Mutex
	// sensorStatus says which sensors run, for status reports.
	sensorStatus []SensorStatus
	decoders     decoders
	perf         perf
	tree         *proctree.Tree
	enricher     *enrich.Enricher
	binaries     *binfact.Checker // judges executed files for the enricher
	counts       counters
	obs          observer // what metrics and status read
	started      time.Time
	lastSync     time.Time
	rules        ruleStage
	reloads      reloadCounts
	enforcer     *enforce.Enforcer // nil without an enforce stage
	store        *enforce.Store
	services     *Services   // nil without Config.Serve
	intel        *intelStage // nil without Config.Intel
	// modules is the kernel's module inventory and the loads seen
	modules *moduleBook

	// containers is where what is learnt of a container after its first
	// exec goes (names, images, pods); its updates reach the processes
	// already running in it. Safe for use from other goroutines.
	containers *container.Table
	kube       *kube.Source // nil without Config.Kubernetes
	// hold keeps back the first events of containers a metadata source
	// is still looking up; nil without a source.
	hold *holder
	// drops reports what was lost; the pipeline goroutine's
	drops *dropsReporter
}

// New sets the kernel up, loads and attaches the sensors and snapshots the
// processes already running. Events happening after New returns are
// captured; Run delivers them.
func New(cfg Config) (_ *Agent, err error) {
	if cfg.Sink == nil {
		return nil, errors.New("agent: no sink configured")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.Node == "" {
		if cfg.Node, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("hostname: %w", err)
		}
	}
	a := &Agent{cfg: cfg, log: cfg.Log, clock: kernel.NewBootClock(), started: time.Now(), modules: &moduleBook{root: "/"}}
	// rule evaluation: 250 ns doubling to about 1 ms, and one above
	a.obs.ruleEval = metrics.NewDurationHistogram(250*time.Nanosecond, 13)
	a.rules.next.Store(cfg.Rules)
	a.lastSync = a.started
	a.drops = newDropsReporter(cfg.Node, cfg.DropsInterval, a.started)
	defer func() {
		if err != nil {
			_ = a.close() // err is what the caller needs
		}
	}()

	t := time.Now()
	exe := cfg.VigilExecutable
	if exe == "" {
		exe = ownExecutable
	}
	self, err := executableKey(exe)
	if err != nil {
		return nil, err
	}
	if cfg.Intel != nil {
		// before the metrics are bound: they serve the feeds' too
		if a.intel, err = newIntelStage(*cfg.Intel, a.log); err != nil {
			return nil, err
		}
	}
	// bound first: a busy port or socket fails in milliseconds, not after
	// seconds of loading
	if cfg.Serve != nil {
		if a.services, err = a.listen(*cfg.Serve); err != nil {
			return nil, err
		}
		t = a.took("listen", t)
	}
	if err := a.startKube(); err != nil {
		return nil, err
	}

	// Mount before anything touches tracefs: cilium/ebpf remembers a
	// missing tracefs for the life of the process.
	if mounted, err := kernel.EnsureMounts(); err != nil {
		return nil, err
	} else if len(mounted) > 0 {
		a.log.Info("mounted", "paths", mounted)
	}
	host, err := probeHost()
	if err != nil {
		return nil, err
	}
	scope, err := a.scope(host.cgroup2Root)
	if err != nil {
		return nil, err
	}
	cfg.Ring.Scope = scope
	if a.ring, err = ring.New(cfg.Ring); err != nil {
		return nil, err
	}
	t = a.took("mounts, cgroups and ring", t)
	var enforceErr error
	var enforcement func()
	if cfg.Enforce != nil {
		enforcement = func() {
			start := time.Now()
			enforceErr = a.startEnforcement(host)
			a.took("enforcement", start)
		}
	}
	if err := a.loadSensors(host, enforcement); err != nil {
		return nil, err
	}
	t = a.took("sensors and enforcement", t)
	if enforceErr != nil {
		// policies asked for at start must hold, or the agent does not
		// start; without them the agent can still detect
		if len(cfg.Enforce.Policies) > 0 {
			return nil, fmt.Errorf("enforcement: %w", enforceErr)
		}
		a.log.Error("enforcement unavailable: detection only", "err", enforceErr)
		if a.enforcer != nil {
			_ = a.enforcer.Close() // enforceErr, logged above, is the story
			a.enforcer = nil
		}
	}

	a.tree = proctree.New(cfg.ProcTree)
	containers := container.NewResolver(container.DefaultTableSize)
	a.containers = containers.Table()
	if cfg.Containers != nil {
		a.containers.SetSource(cfg.Containers(a.containers))
		a.holdFor(containers)
	}
	a.startIntel()
	a.enricher = enrich.New(cfg.Node, a.tree, containers)
	a.enricher.SetVigil(self)
	a.binaries = binfact.New(binfact.DefaultConfig())
	a.enricher.SetBinaryFacts(a.binaries)
	a.enricher.SetUserNames(username.New("/proc"))
	a.attachKube(containers)
	popts := procfs.Options{
		Proc:         "/proc",
		Cgroup2Root:  host.cgroup2Root,
		V1Controller: host.v1Controller,
		Time:         a.clock.Time,
	}
	a.enricher.RecoverFrom(popts)
	procs, err := procfs.Snapshot(popts)
	if err != nil {
		return nil, fmt.Errorf("snapshot processes: %w", err)
	}
	a.enricher.Seed(procs)
	a.took("process snapshot", t)
	// loading the sensors (ELF objects, BTF, verifier logs) leaves tens of
	// megabytes of garbage that the runtime would give back only over
	// minutes: give it back now, once, so that the agent's resident
	// memory is that of its running state (docs/benchmarks.md, Memory)
	debug.FreeOSMemory()
	a.log.Info("started", "node", cfg.Node, "processes", len(procs),
		"ring_bytes", cfg.Ring.Size, "cgroup_v1", host.v1Controller)
	if a.services != nil {
		a.services.serve(a)
	}
	return a, nil
}

// Services are what Config.Serve asked New to serve, nil without it.
// Close them before closing the agent (Close does if they are left).
func (a *Agent) Services() *Services { return a.services }

// took logs at debug level how long a start-up stage took, and returns
// the time the next one starts: vigil run --log-level debug shows where
// start-up goes.
func (a *Agent) took(stage string, since time.Time) time.Time {
	now := time.Now()
	a.log.Debug("start-up stage", "stage", stage, "took", now.Sub(since).Round(time.Millisecond))
	return now
}

// Run delivers events until ctx ends, then detaches the sensors, drains
// what they wrote, flushes the sink and releases everything.
func (a *Agent) Run(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
			return
		}
		a.detach()
		if err := a.ring.Stop(); err != nil {
			a.log.Error("stop ring reader", "err", err)
		}
	}()
	if a.intel != nil {
		ictx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); a.intel.feed.Run(ictx) }()
		go func() { defer wg.Done(); a.runIntelHashes(ictx) }()
		defer func() { cancel(); wg.Wait() }()
	}
	err := a.ring.Read(a.handle, a.idle)
	close(stopped)
	a.detach()
	if a.hold != nil {
		a.hold.releaseAll(a.pass)
	}
	a.flushRules(true)
	a.reportDrops(time.Now(), true)
	return errors.Join(err, a.cfg.Sink.Flush())
}

// handle is the hot path: one record, decoded, enriched, written.
func (a *Agent) handle(raw []byte) {
	h, err := wire.ParseHeader(raw)
	if err != nil {
		a.counts.malformed(a.log, err)
		return
	}
	if isHold(h.Kind) {
		a.counts.record(h.Kind)
		if a.enforcer != nil {
			a.enforcer.Hold(raw)
		}
		return
	}
	decode := a.decoders.get(h.Kind)
	if decode == nil {
		a.counts.malformed(a.log, fmt.Errorf("%w: unknown kind %d", wire.ErrMalformed, h.Kind))
		return
	}
	ev, err := decode(raw)
	if err != nil {
		a.counts.malformed(a.log, err)
		return
	}
	a.counts.record(h.Kind)
	if a.hold != nil {
		if a.hold.holding() { // a clock read only while something is held
			a.hold.release(time.Now(), a.pass)
		}
		if a.hold.intercept(ev, a.pass) {
			return
		}
	}
	a.pass(ev)
}

// pass takes a decoded event through the rest of the pipeline: enriched,
// written, observed, matched.
func (a *Agent) pass(ev *event.Event) {
	if !a.enricher.Enrich(ev) {
		return
	}
	if ev.Kind == event.KindModuleLoad {
		a.modules.saw(ev)
	}
	if ev.Enforcement != nil {
		// what a policy did: an alert, not an event for the rules
		a.enforceAlert(ev)
		return
	}
	if err := a.cfg.Sink.Write(ev); err != nil {
		a.counts.sinkError(a.log, err)
	}
	if a.enforcer != nil {
		a.enforcer.Observe(ev)
	}
	if a.intel != nil {
		a.observeIntel(ev)
	}
	a.evalRulesTimed(ev)
	if a.counts.total()%1024 == 0 {
		a.enricher.Expire(ev.Time)
		a.publish()
		a.drainEnforcement()
		a.drainIntel()
		a.reportDrops(time.Now(), false)
	}
}

// idle runs when the ring is drained: flush output, let caches age.
func (a *Agent) idle() {
	if a.hold != nil && a.hold.holding() {
		a.hold.release(time.Now(), a.pass)
	}
	a.flushRules(false)
	a.drainEnforcement()
	a.drainIntel()
	if err := a.cfg.Sink.Flush(); err != nil {
		a.counts.sinkError(a.log, err)
	}
	now := time.Now()
	a.reportDrops(now, false)
	a.enricher.Expire(now)
	a.publish()
	if now.Sub(a.lastSync) > time.Minute {
		a.clock.Resync()
		a.lastSync = now
	}
}

// detach closes the sensors, so nothing more is written to the ring. Run's
// stopping goroutine and Run itself may both call it.
func (a *Agent) detach() {
	a.detachMu.Lock()
	defer a.detachMu.Unlock()
	for _, s := range a.sensors {
		if err := s.Close(); err != nil {
			a.log.Error("detach sensor", "err", err)
		}
	}
	a.sensors = nil
}

// Close releases the ring. Call it after Run returns.
func (a *Agent) Close() error {
	return a.close()
}

func (a *Agent) close() error {
	if a.services != nil {
		if err := a.services.Close(); err != nil {
			a.log.Error("stop services", "err", err)
		}
		a.services = nil
	}
	a.detach()
	a.closeKube()
	if a.binaries != nil {
		a.binaries.Close()
	}
	if a.enforcer != nil {
		// pinned enforcement stays in force; only the descriptors go
		if err := a.enforcer.Close(); err != nil {
			a.log.Error("close enforcement", "err", err)
		}
		a.enforcer = nil
	}
	if a.ring != nil {
		err := a.ring.Close()
		a.ring = nil
		return err
	}
	return nil
}
