package agent

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/wire"
)

// observer holds what the pipeline publishes for readers on other
// goroutines (metrics, status): the process cache's numbers, copied by
// the pipeline goroutine that owns the cache; a heartbeat; the rule
// stage's timings; and the sensors' BPF programs.
type observer struct {
	procEntries   atomic.Int64
	procEvictions atomic.Uint64
	procLive      atomic.Uint64 // live evictions
	procRecovered atomic.Uint64
	procExpired   atomic.Uint64
	// heartbeat is when the pipeline last showed it reads (unix ns).
	heartbeat atomic.Int64
	ruleEval  *metrics.DurationHistogram

	mu       sync.Mutex
	programs []trackedProgram
	degraded map[string]string // sensor → why it runs degraded
}

type trackedProgram struct {
	sensor, name string
	id           ebpf.ProgramID
}

// publish copies the pipeline's own state for other goroutines. Called
// from the pipeline goroutine when idle and every 1024 records.
func (a *Agent) publish() {
	st := a.tree.Stats()
	a.obs.procEntries.Store(int64(st.Entries))
	a.obs.procEvictions.Store(st.Evictions)
	a.obs.procLive.Store(st.LiveEvictions)
	a.obs.procRecovered.Store(st.Recovered)
	a.obs.procExpired.Store(st.Expired)
	a.obs.heartbeat.Store(time.Now().UnixNano())
}

// evalRulesTimed runs the rule stage on ev and records how long it took
// (two clock reads and a few atomic adds) when there are rules.
func (a *Agent) evalRulesTimed(ev *event.Event) {
	if a.rules.current == nil && a.rules.next.Load() == nil {
		return
	}
	start := time.Now()
	a.evalRules(ev)
	a.obs.ruleEval.Observe(time.Since(start))
}

// ruleCount is how many rules the rule stage runs (or is about to);
// safe from any goroutine.
func (a *Agent) ruleCount() int {
	if e := a.rules.next.Load(); e != nil {
		return len(e.Ruleset().Rules())
	}
	return 0
}

// programSource is a sensor that names its BPF programs, so that their
// run counts and run times can be exported.
type programSource interface {
	Programs() map[string]*ebpf.Program
}

// degradedSource is a sensor that may run with less than it wants (a
// hook missing on this kernel); Degraded says what is missing, or "".
type degradedSource interface {
	Degraded() string
}

// trackPrograms remembers a loaded sensor's programs by id: reading their
// statistics then opens them by id, which cannot touch a descriptor the
// sensor closes meanwhile.
func (a *Agent) trackPrograms(sensor string, c io.Closer) {
	a.obs.mu.Lock()
	defer a.obs.mu.Unlock()
	if d, ok := c.(degradedSource); ok {
		if why := d.Degraded(); why != "" {
			if a.obs.degraded == nil {
				a.obs.degraded = make(map[string]string)
			}
			a.obs.degraded[sensor] = why
		}
	}
	ps, ok := c.(programSource)
	if !ok {
		return
	}
	for name, p := range ps.Programs() {
		if p == nil {
			continue
		}
		info, err := p.Info()
		if err != nil {
			a.log.Warn("no statistics for BPF program", "sensor", sensor, "program", name, "err", err)
			continue
		}
		if id, ok := info.ID(); ok {
			a.obs.programs = append(a.obs.programs, trackedProgram{sensor: sensor, name: name, id: id})
		}
	}
	sort.Slice(a.obs.programs, func(i, j int) bool {
		pi, pj := a.obs.programs[i], a.obs.programs[j]
		return pi.sensor+"/"+pi.name < pj.sensor+"/"+pj.name
	})
}

// programStats reads the run counters of the programs still loaded.
func (a *Agent) programStats() []metrics.Program {
	a.obs.mu.Lock()
	progs := append([]trackedProgram(nil), a.obs.programs...)
	a.obs.mu.Unlock()
	out := make([]metrics.Program, 0, len(progs))
	for _, tp := range progs {
		p, err := ebpf.NewProgramFromID(tp.id)
		if err != nil {
			continue // detached and unloaded
		}
		st, err := p.Stats()
		_ = p.Close() // only read from
		if err != nil {
			continue
		}
		out = append(out, metrics.Program{Sensor: tp.sensor, Name: tp.name,
			RunCount: st.RunCount, RunTime: st.Runtime, RecursionMisses: st.RecursionMisses})
	}
	return out
}

// PipelineStats is one reading of the agent's counters, for metrics and
// status; safe from any goroutine until Close.
func (a *Agent) PipelineStats() metrics.PipelineStats {
	s := metrics.PipelineStats{
		Records:    make(map[string]uint64),
		Malformed:  a.counts.malformedN.Load(),
		SinkErrors: a.counts.sinkErrN.Load(),
		ProcCache: metrics.ProcCache{
			Entries:       int(a.obs.procEntries.Load()),
			Evictions:     a.obs.procEvictions.Load(),
			LiveEvictions: a.obs.procLive.Load(),
			Recovered:     a.obs.procRecovered.Load(),
			Expired:       a.obs.procExpired.Load(),
		},
		Containers: a.containerStats(),
		Programs:   a.programStats(),
		RuleEval:   a.obs.ruleEval.Snapshot(),
		Rules:      a.ruleCount(),
		Reloads:    a.reloadStats(),
		// read again at most once a minute, or after a module load
		KernelModules: a.moduleCounts(),
	}
	s.Enforcement, s.Policies = a.enforcementStats()
	if in := a.intel; in != nil {
		s.Intel = &metrics.Intel{Hashed: in.hashes.computed.Load(), HashDropped: in.hashes.dropped.Load(),
			DNSSuppressed: in.dns.suppressedTotal(), ApplyFailures: in.applyFailureCount()}
		for _, h := range in.hitCounts() {
			s.Intel.Hits = append(s.Intel.Hits, metrics.IntelHit(h))
		}
	}
	a.metadataStats(&s)
	for k := range a.counts.byKind {
		if n := a.counts.byKind[k].Load(); n > 0 {
			s.Records[string(wire.KindName(uint16(k)))] = n
		}
	}
	if r := a.ring; r != nil {
		s.RingPending, s.RingSize = r.Pending(), r.Size()
		if losses, err := r.Losses(); err == nil {
			for _, l := range losses {
				s.KernelLosses = append(s.KernelLosses, metrics.KernelLoss{Reason: string(l.Reason), Kind: string(l.Kind), Count: l.Count})
			}
		}
	}
	a.obs.mu.Lock()
	for _, st := range a.sensorStatus {
		mode := "full"
		switch {
		case !st.Running:
			mode = "off"
		case a.obs.degraded[st.Name] != "":
			mode = "degraded"
		}
		s.Sensors = append(s.Sensors, metrics.Sensor{Name: st.Name, Mode: mode})
	}
	a.obs.mu.Unlock()
	return s
}

// Ready is nil once the sensors are attached (New returned, so every
// required sensor is) and the pipeline reads: it has shown a sign of life
// within the last ten seconds.
func (a *Agent) Ready() error {
	beat := a.obs.heartbeat.Load()
	if beat == 0 {
		return errors.New("the pipeline has not started reading")
	}
	if since := time.Since(time.Unix(0, beat)); since > 10*time.Second {
		return fmt.Errorf("the pipeline last read %s ago", since.Round(time.Second))
	}
	return nil
}

// ready is what /readyz answers: the pipeline reads (Ready), and some
// output still takes what it detects. An agent whose every output fails
// (a webhook that is down, a full disk) detects into the void: an
// orchestrator should see it, and the logs say which output and why.
func ready(a *Agent, outs metrics.Outputs) error {
	if err := a.Ready(); err != nil {
		return err
	}
	if outs == nil {
		return nil
	}
	return outputsReady(outs.Stats())
}

// outputsReady fails when there are outputs and none is healthy.
func outputsReady(stats []output.RouteStats) error {
	if len(stats) == 0 {
		return nil
	}
	var failing []string
	for _, s := range stats {
		if s.Healthy {
			return nil
		}
		failing = append(failing, fmt.Sprintf("%s (%s)", s.Name, s.LastError))
	}
	return fmt.Errorf("every output is failing: %s", strings.Join(failing, "; "))
}
