package agent

import (
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/observe/cpu"
	"github.com/vigil-sec/vigil/internal/observe/io"
	"github.com/vigil-sec/vigil/internal/observe/memory"
	"github.com/vigil-sec/vigil/internal/observe/network"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// perf holds the performance observers that run: the metrics read them at
// each scrape, from the HTTP server's goroutine, never the pipeline's.
type perf struct {
	mu        sync.Mutex
	observers []observe.Observer
	fs        *observe.Cgroupfs
	pruned    map[string]uint64 // kernel table entries of removed cgroups deleted, by observer
	lastPrune time.Time
}

// pruneEvery is how often a scrape also deletes the kernel table entries
// of cgroups that were removed (a walk of the cgroup2 mount).
const pruneEvery = 30 * time.Second

// observerName is an observer's name among the sensors (status, metrics).
func observerName(name string) string { return "observe_" + name }

// observerList describes the observers the configuration asks for, to
// load as the sensors are (never required: the agent runs without them).
func (a *Agent) observerList(h hostCgroups) []sensor.Description {
	names := a.cfg.Observe.Names()
	if len(names) == 0 || h.cgroup2Root == "" {
		return nil
	}
	fs := observe.NewCgroupfs(h.cgroup2Root, filepath.Dir(h.cgroup2Root))
	if h.v1Controller == "" { // pure v2: nothing of v1 to read
		fs.V1 = ""
	}
	a.perf.mu.Lock()
	a.perf.fs = fs
	a.perf.mu.Unlock()
	n := a.cfg.Observe.Cgroups
	loaders := map[string]func(env sensor.Env) (observe.Observer, map[uint16]sensor.Decode, error){
		observe.CPU: func(env sensor.Env) (observe.Observer, map[uint16]sensor.Decode, error) {
			o, err := cpu.Load(env.Ring, n, fs)
			return o, nil, err
		},
		observe.Memory: func(env sensor.Env) (observe.Observer, map[uint16]sensor.Decode, error) {
			o, err := memory.Load(env.Ring, n, fs)
			return o, memory.Decoders(env.Clock), err
		},
		observe.Network: func(env sensor.Env) (observe.Observer, map[uint16]sensor.Decode, error) {
			o, err := network.Load(env.Ring, n)
			if err != nil {
				return nil, nil, err
			}
			if err := o.Watch(a.cfg.Observe.RemotePorts); err != nil {
				return nil, nil, errors.Join(err, o.Close())
			}
			return o, nil, nil
		},
		observe.IO: func(env sensor.Env) (observe.Observer, map[uint16]sensor.Decode, error) {
			o, err := io.Load(env.Ring, n)
			return o, nil, err
		},
	}
	var out []sensor.Description
	for _, name := range names {
		load := loaders[name]
		out = append(out, sensor.Description{Name: observerName(name), Load: func(env sensor.Env) (sensor.Sensor, map[uint16]sensor.Decode, error) {
			o, decs, err := load(env)
			if err != nil {
				return nil, nil, err
			}
			a.perf.mu.Lock()
			a.perf.observers = append(a.perf.observers, o)
			a.perf.mu.Unlock()
			return perfObserver{o, &a.perf}, decs, nil
		}})
	}
	return out
}

// perfObserver is an observer as the agent's sensor list holds it: closing
// it takes it out of the metrics' reach first.
type perfObserver struct {
	observe.Observer
	p *perf
}

func (o perfObserver) Degraded() string { return "" }

func (o perfObserver) Close() error {
	o.p.mu.Lock()
	o.p.observers = slices.DeleteFunc(o.p.observers, func(x observe.Observer) bool { return x == o.Observer })
	o.p.mu.Unlock()
	return o.Observer.Close()
}

// ObserveSnapshot reads every observer running, one series per cgroup,
// labelled with its container (and pod); safe from any goroutine.
func (a *Agent) ObserveSnapshot() metrics.ObserveSnapshot {
	s := observe.NewSnapshot()
	a.perf.mu.Lock()
	for _, o := range a.perf.observers {
		if err := o.Read(s); err != nil {
			a.log.Warn("read observer", "observer", o.Name(), "err", err)
		}
	}
	if time.Since(a.perf.lastPrune) >= pruneEvery {
		a.prunePerfLocked()
	}
	fs := a.perf.fs
	pruned := maps.Clone(a.perf.pruned)
	a.perf.mu.Unlock()
	out := metrics.ObserveSnapshot{Losses: s.Losses, Pruned: pruned}
	if fs == nil {
		return out // no observer loaded yet
	}
	for id, st := range s.Cgroups {
		path, ok := fs.Path(id)
		if !ok {
			continue // gone: its figures went with it
		}
		out.Series = append(out.Series, a.observeSeries(path, st))
	}
	return out
}

// prunePerfLocked deletes from the observers' kernel tables the entries
// of cgroups that no longer exist, and counts them; a.perf.mu is held.
func (a *Agent) prunePerfLocked() {
	a.perf.lastPrune = time.Now()
	if a.perf.fs == nil {
		return
	}
	var ps []observe.Pruner
	for _, o := range a.perf.observers {
		if p, ok := o.(observe.Pruner); ok {
			ps = append(ps, p)
		}
	}
	pruned, err := observe.Prune(a.perf.fs, ps...)
	if err != nil {
		a.log.Warn("prune observer tables", "err", err)
	}
	for name, n := range pruned {
		if a.perf.pruned == nil {
			a.perf.pruned = make(map[string]uint64)
		}
		a.perf.pruned[name] += n
	}
}

// observeSeries labels a cgroup's figures with its container and pod.
func (a *Agent) observeSeries(path string, st *observe.Stats) metrics.ObserveSeries {
	s := metrics.ObserveSeries{Cgroup: path, Stats: st}
	id, ok := container.Parse(path)
	if !ok {
		return s
	}
	s.Container = id.ID
	if len(s.Container) > 12 {
		s.Container = s.Container[:12]
	}
	if a.containers == nil {
		return s
	}
	if c := a.containers.Lookup(id.ID); c != nil {
		if c.Name != "" {
			s.Container = c.Name
		}
		if p := c.Pod; p != nil {
			s.Namespace, s.Pod = p.Namespace, p.Name
			if p.Workload != nil {
				s.Workload = p.Workload.Name
			}
		}
	}
	return s
}
