// Package enforce is vigil's prevention stage, and the only writer of the
// kernel's deny maps. It turns policies (internal/policy) into the entries
// of the enforcement objects (execguard, fileguard, netguard, xdpguard,
// modguard: one package and one BPF collection each, pinned under
// internal/enforce/pinned's directory so enforcement outlives the agent),
// names what those programs report so every action becomes an alert, and
// does what the kernel cannot decide: hashing held binaries, killing from
// user space, resolving paths again when files are replaced.
package enforce

import (
	"errors"

	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"

	"github.com/vigil-sec/vigil/internal/enforce/execguard"
	"github.com/vigil-sec/vigil/internal/enforce/fileguard"
	"github.com/vigil-sec/vigil/internal/enforce/lsm"
	"github.com/vigil-sec/vigil/internal/enforce/modguard"
	"github.com/vigil-sec/vigil/internal/enforce/netguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/enforce/podscope"
	"github.com/vigil-sec/vigil/internal/enforce/xdpguard"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/ring"
)

// Config is what the enforce stage needs from the agent.
type Config struct {
	// PinDir is where enforcement state is pinned (pinned.DefaultDir).
	PinDir string
	// Cgroup2Root is the cgroup2 mount: the network hooks attach there,
	// and cgroup scopes are relative to it.
	Cgroup2Root string
	Ring        *ring.Ring
	// Clock converts between the kernel's boot clock and wall time.
	Clock *kernel.BootClock
	// Exempt are processes never acted on: the agent and its ancestors.
	Exempt []uint32
	// LSM asks for the BPF LSM tier where the kernel offers it.
	LSM bool
	// MaxPacketPrefixes sizes the packet filter's tables when it loads:
	// 0 is the larger of xdpguard's default and 5/4 of the first plan's
	// prefixes.
	MaxPacketPrefixes int
	Log               *slog.Logger
}

// Enforcer runs the enforcement objects. Apply, Remove and Report may be
// called from any goroutine; the event-path methods (Describe, Observe,
// RuleAlert, Hold, Tick, Alerts) from the pipeline goroutine only.
type Enforcer struct {
	cfg   Config
	log   *slog.Logger
	state *pinned.State

	exec *execguard.Guard
	net  *netguard.Guard
	// file, mod and xdp are loaded when a policy first needs them: their
	// hooks cost every open, every system call, every packet.
	file *fileguard.Guard
	mod  *modguard.Guard
	xdp  *xdpguard.Guard
	lsm  *lsm.Tier
	// pscope is loaded while a policy is scoped to pods: its program runs
	// at every cgroup creation
	pscope *podscope.Scope

	mu       sync.Mutex // serialises changes to the set
	origins  map[Origin][]namedPolicy
	xdpIface map[string]bool // interfaces this agent attached the packet filter to
	// dropsWanted is how many packet prefixes the plan being applied
	// lists: the packet filter is sized for it when it loads
	dropsWanted int
	// replans counts the policies Replace planned alone
	replans uint64
	mechErr map[string]string // mechanism → why it is unavailable
	adopted []string
	// away is what pinned policies did while no agent ran (away.go)
	away    map[string]map[event.Action]uint64
	applied bool // a set was applied: Close may judge the pins
	// learned are copies of denied binaries found by their hash
	learned map[Inode]learnedCopy
	// pods are the Kubernetes pods UpdatePod told of, by uid; podBits
	// what pod_scopes was last given (pods.go)
	pods    map[string]*podEntry
	podBits map[string]uint64
	ctrBits map[string]uint64 // what container_scopes was last given
	// podsSynced: SyncPods was called; until then carry are the pod
	// policies adopted with their numbers, whose pinned entries are kept
	podsSynced bool
	carry      uint64

	cur    atomic.Pointer[current]
	work   chan job
	holds  chan execguard.Hold // served before work: a held process waits
	alerts chan *event.Alert
	stop   chan struct{}
	wg     sync.WaitGroup
	hasher *execguard.Hasher
	counts Counts
	lastHB time.Time
	// lastPrune: when exec_held was last pruned
	lastPrune time.Time
	// lastSeen: when the hits were last recorded as seen (away.go)
	lastSeen time.Time
	lastRes  time.Time
}

// Counts are the enforce stage's own counters, for metrics.
type Counts struct {
	// UserspaceKills are kills the agent sent; UserspaceKillFailed the
	// ones that found the process gone.
	UserspaceKills, UserspaceKillFailed atomic.Uint64
	// Holds are binaries the kernel held for hashing; HoldsKilled those
	// whose hash was denied; HoldOverflow holds released unhashed because
	// the queue was full; HoldsLate verdicts that came when the process
	// ran already (the kernel failed open: see execguard.ExpiryStats), a
	// denied one then killed from user space.
	Holds, HoldsKilled, HoldOverflow, HoldsLate atomic.Uint64
	// LearnOverflow are execs run unheld whose binary could not be queued
	// for hashing (the queue was full): hashed the next time it runs.
	LearnOverflow atomic.Uint64
	// Resolved counts deny paths resolved again after a change.
	Resolved atomic.Uint64
	// KillLatency is the user-space kills' latency, event to signal:
	// 100 µs doubling to about 1.6 s.
	KillLatency *metrics.DurationHistogram
}

// New opens the pinned state, loads the exec and network objects (adopting
// what a previous agent pinned) and attaches them; the others load when a
// policy needs them. A mechanism that cannot load is reported, and the
// policies that need it are refused; the rest works.
func New(cfg Config) (*Enforcer, error) {
	if cfg.PinDir == "" {
		cfg.PinDir = pinned.DefaultDir
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	st, err := pinned.Open(cfg.PinDir)
	if err != nil {
		return nil, fmt.Errorf("enforcement state: %w", err)
	}
	e := &Enforcer{
		cfg: cfg, log: cfg.Log, state: st,
		origins:  map[Origin][]namedPolicy{},
		xdpIface: map[string]bool{},
		learned:  map[Inode]learnedCopy{},
		pods:     map[string]*podEntry{},
		mechErr:  map[string]string{},
		work:     make(chan job, 1024),
		holds:    make(chan execguard.Hold, 1024),
		alerts:   make(chan *event.Alert, 1024),
		stop:     make(chan struct{}),
		hasher:   execguard.NewHasher(4096),
		// a set is resolved when it is applied: the first periodic
		// resolve (Tick) is due one period after start, not at once
		lastRes: time.Now(),
	}
	e.counts.KillLatency = metrics.NewDurationHistogram(100*time.Microsecond, 15)
	// the pinned scopes, as the previous agent left them: the first set
	// applied masks them (numbers that move) rather than starting empty,
	// so adopted policies keep their cgroups throughout
	adoptedScopes, err := st.Scopes()
	if err != nil {
		e.log.Warn("read the pinned scopes", "err", err)
	}
	e.cur.Store(&current{plan: emptyPlan(), scopes: adoptedScopes})
	if err := st.SetExempt(cfg.Exempt); err != nil {
		_ = e.Close() // best effort: err is what failed
		return nil, fmt.Errorf("exempt the agent: %w", err)
	}
	if err := st.Heartbeat(); err != nil {
		_ = e.Close() // best effort: err is what failed
		return nil, fmt.Errorf("heartbeat: %w", err)
	}
	if slots, err := st.Slots(); err == nil {
		for _, s := range slots {
			e.adopted = append(e.adopted, s.Name)
		}
		e.away = e.reportAway(slots)
	}
	if e.exec, err = execguard.Load(execguard.Options{Dir: cfg.PinDir, Ring: cfg.Ring}); err != nil {
		e.mechErr[MechExec] = err.Error()
		e.log.Error("exec blocking unavailable", "err", err)
	}
	if e.net, err = netguard.Load(netguard.Options{PinDir: cfg.PinDir, Ring: cfg.Ring}); err == nil {
		err = e.net.Attach(cfg.Cgroup2Root)
	}
	if err != nil {
		e.mechErr[MechNet] = err.Error()
		e.log.Error("network deny unavailable", "err", err)
	}
	if cfg.LSM {
		e.loadLSM()
	}
	// a previous agent's pins: load what they need, so their programs
	// are replaced by this agent's and report into its ring
	for _, name := range []string{MechFile, MechModules, MechPackets, MechPods} {
		if pinnedBy(cfg.PinDir, name) {
			if err := e.need(name); err != nil {
				e.log.Error("adopt pinned enforcement", "mechanism", name, "err", err)
			}
		}
	}
	if err := e.releaseLeftHolds(); err != nil {
		e.log.Warn("release processes a previous agent held", "err", err)
	}
	e.wg.Add(1)
	go e.worker()
	return e, nil
}

// loadLSM loads the LSM tier, which reads the kill tier's tables: those
// are loaded first.
func (e *Enforcer) loadLSM() {
	// asked first, so that a kernel without it does not get the file and
	// module guards (and the dispatcher's cost) for nothing
	if err := features.HaveProgramType(ebpf.LSM); err != nil {
		e.mechErr[MechLSM] = err.Error()
		e.log.Warn("BPF LSM tier unavailable; kill-based enforcement only", "err", err)
		return
	}
	err := errors.Join(e.need(MechExec), e.need(MechFile), e.need(MechModules))
	if err == nil {
		e.lsm, err = lsm.Load(lsm.Options{PinDir: e.cfg.PinDir, Ring: e.cfg.Ring,
			ExecDeny: e.exec.DenyMap(), FileProtect: e.file.ProtectMap(), ModBlock: e.mod.BlockMap()})
	}
	if err != nil {
		e.mechErr[MechLSM] = err.Error()
		e.log.Warn("BPF LSM tier unavailable; kill-based enforcement only", "err", err)
	}
}

// Close stops the worker and closes the descriptors. With policies in
// force, the pinned links and maps stay: enforcement goes on without the
// agent. With none, there is nothing to keep, and the pins are removed so
// that no program is left attached.
func (e *Enforcer) Close() error {
	if e.state != nil {
		e.markSeen(nil) // this agent reported everything up to now
	}
	defer func() {
		// only once this agent applied a set: a failed start must not
		// lift a previous agent's enforcement
		if e.state != nil && e.applied && e.cur.Load().plan.empty() {
			if err := pinned.Remove(e.cfg.PinDir); err != nil {
				e.log.Warn("remove the unused enforcement pins", "dir", e.cfg.PinDir, "err", err)
			}
		}
	}()
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	e.wg.Wait()
	var errs []error
	for _, m := range e.loaded() {
		errs = append(errs, m.obj.Close())
	}
	if e.state != nil {
		errs = append(errs, e.state.Close())
	}
	return errors.Join(errs...)
}

// Alerts are what the enforce stage raised off the pipeline goroutine
// (hash verdicts): the pipeline enriches and writes them.
func (e *Enforcer) Alerts() <-chan *event.Alert { return e.alerts }

// Stats are the enforce stage's counters.
func (e *Enforcer) Stats() *Counts { return &e.counts }

// Adopted names the policies the pinned state held when the agent started.
func (e *Enforcer) Adopted() []string { return append([]string(nil), e.adopted...) }
