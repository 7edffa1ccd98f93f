// Package kube gives containers of Kubernetes pods their pod (name,
// namespace, labels, workload) and their container name, image and image
// digest. It is the only importer of client-go and the CRI API.
//
// Two sources feed it: a watch of the pods on this node (an informer with
// a spec.nodeName field selector) and the container runtime's CRI socket
// (containerd, CRI-O), which knows a container from its creation, seconds
// before the kubelet reports it to the API server. What they say is kept
// in a bounded in-memory index that Source.Fill reads on the event path
// without I/O; Source.Request looks a container up on the CRI socket from
// a small worker pool, and both publish through container.Table.Update.
// See "Kubernetes metadata" in docs/architecture.md.
package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
)

// Defaults for what Config leaves zero.
const (
	DefaultRetention = 5 * time.Minute
	DefaultMaxPods   = 8192
	// DefaultPodWait is how long a container whose runtime lookup learnt
	// nothing waits for its pod to come from the API server before the
	// source gives up on it (and lets its held events go).
	DefaultPodWait = 2 * time.Second
	// DefaultLookupTimeout bounds one CRI call.
	DefaultLookupTimeout = time.Second
	// queueSize and workers bound the runtime lookups: far more new
	// containers than a node starts at once.
	queueSize = 1024
	workers   = 4
)

// Config says how to reach the API server and the runtime.
type Config struct {
	// Node is the node whose pods to watch.
	Node string
	// REST reaches the API server (InClusterConfig or a kubeconfig; see
	// RESTConfig).
	REST *rest.Config
	// CRISocket is the runtime's CRI socket; "" tries the usual ones, and
	// none found leaves runtime lookups off, as CRINone does.
	CRISocket string
	// Retention is how long a deleted pod stays resolvable for late
	// events; MaxPods caps the pods kept, live and deleted.
	Retention time.Duration
	MaxPods   int
	// PodWait and LookupTimeout: see the defaults.
	PodWait       time.Duration
	LookupTimeout time.Duration
	Log           *slog.Logger
}

// Table is what the source publishes to: container.Table.
type Table interface {
	Update(id string, edit func(c *event.Container))
	Settle(id string)
}

// Source is the Kubernetes metadata source of a container.Table.
type Source struct {
	cfg    Config
	log    *slog.Logger
	idx    *index
	client kubernetes.Interface
	cri    *criClient // nil: runtime lookups off
	table  atomic.Pointer[tableBox]

	queue  chan container.Identity
	cancel context.CancelFunc
	ctx    context.Context // ends at Close
	store  cache.Store     // the informer's pods
	// listener is told of pod changes (Listen); listenMu orders its calls
	listenMu sync.Mutex
	listener *Listener
	wg       sync.WaitGroup
	closed   atomic.Bool
	synced   func() bool

	counts counters
	// lastWarned is when the last watch error was logged at warn (Unix
	// nanoseconds): one warning per outage, not one per retry.
	lastWarned atomic.Int64
}

// tableBox holds the Table interface for an atomic pointer.
type tableBox struct{ Table }

// Start begins watching the node's pods and connects to the runtime. The
// watch retries on its own (with backoff) while the API server is away.
// Attach the table the source publishes to before its first Fill.
func Start(cfg Config) (*Source, error) {
	if cfg.REST == nil {
		return nil, errors.New("kubernetes: no API server configuration")
	}
	if cfg.Node == "" {
		return nil, errors.New("kubernetes: no node name")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.MaxPods <= 0 {
		cfg.MaxPods = DefaultMaxPods
	}
	if cfg.PodWait <= 0 {
		cfg.PodWait = DefaultPodWait
	}
	if cfg.LookupTimeout <= 0 {
		cfg.LookupTimeout = DefaultLookupTimeout
	}
	client, err := kubernetes.NewForConfig(cfg.REST)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	s := &Source{cfg: cfg, log: cfg.Log, client: client, idx: newIndex(cfg.MaxPods, cfg.Retention),
		queue: make(chan container.Identity, queueSize)}
	if s.cri, err = dialCRI(cfg.CRISocket, cfg.LookupTimeout); err != nil {
		return nil, err
	}
	if s.cri == nil && cfg.CRISocket != CRINone {
		s.log.Warn("kubernetes: no CRI socket found: container names and images wait for the API server",
			"tried", defaultCRISockets)
	}
	// the informer logs through the logger its context carries (klog's
	// contextual logging): the agent's log, not klog's stderr. Setting
	// klog's process-wide logger instead would race with informers
	// already running.
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logr.FromSlogHandler(cfg.Log.Handler())))
	s.cancel, s.ctx = cancel, ctx
	s.startWatch(ctx)
	for range workers {
		s.wg.Go(func() { s.work(ctx) })
	}
	s.wg.Go(func() { s.expireLoop(ctx) })
	s.log.Info("kubernetes: watching pods", "node", cfg.Node, "api", cfg.REST.Host, "cri", s.criSocket())
	return s, nil
}

// Attach makes t the table the source publishes to, and returns the
// source, for container.Table.SetSource.
func (s *Source) Attach(t Table) *Source {
	s.table.Store(&tableBox{t})
	return s
}

// WaitSynced waits, at most timeout, for the watch's first list of the
// node's pods; false if it did not arrive (the API server is away: the
// pods come when it is back).
func (s *Source) WaitSynced(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !s.synced() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// Fill completes c from the index: the pod as the watch (or the runtime)
// reported it, the container's name and image when the pod's status
// named the container. A container outside any pod is complete as it is:
// there is nothing to learn of it here. In memory, under one short lock.
func (s *Source) Fill(id container.Identity, c *event.Container) (complete bool) {
	if id.PodUID == "" {
		return true
	}
	return s.idx.fill(id, c, time.Now())
}

// Request queues a runtime lookup of the container. It never blocks: a
// full queue settles the container at once (counted as dropped).
func (s *Source) Request(id container.Identity) {
	if s.closed.Load() {
		s.settle(id.ID)
		return
	}
	select {
	case s.queue <- id:
	default:
		s.counts.criDropped.Add(1)
		s.counts.givenUp.Add(1)
		s.settle(id.ID)
	}
}

// Close stops the watch and the lookups, and settles every container
// still waiting, so that nothing stays held.
func (s *Source) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.cancel()
	s.listenMu.Lock()
	s.listener = nil
	s.listenMu.Unlock()
	s.wg.Wait()
	for {
		select {
		case id := <-s.queue:
			s.settle(id.ID)
			continue
		default:
		}
		break
	}
	for _, id := range s.idx.allWaiting() {
		s.settle(id)
	}
	if s.cri != nil {
		return s.cri.close()
	}
	return nil
}

func (s *Source) publish(u update) {
	if t := s.table.Load(); t != nil {
		t.Update(u.id, u.edit)
	}
}

func (s *Source) settle(id string) {
	if t := s.table.Load(); t != nil {
		t.Settle(id)
	}
}

// work answers requests until ctx ends.
func (s *Source) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-s.queue:
			s.lookup(ctx, id)
		}
	}
}

// lookup asks the runtime about a container, publishes what it says and
// settles the container; or, when neither the runtime nor the watch knows
// its pod yet, leaves it waiting for the pod at most PodWait.
func (s *Source) lookup(ctx context.Context, id container.Identity) {
	if s.cri != nil {
		c, pod, err := s.cri.lookup(ctx, id)
		if err == nil {
			s.counts.criOK.Add(1)
			s.publish(s.idx.learnt(id.PodUID, c, pod, time.Now()))
			s.settle(id.ID)
			return
		}
		s.counts.criFailed.Add(1)
		s.log.Debug("kubernetes: CRI lookup", "container", id.ID, "err", err)
	}
	if !s.idx.wait(id.PodUID, id.ID) {
		s.settle(id.ID) // the pod came meanwhile; its update is out
		return
	}
	time.AfterFunc(s.cfg.PodWait, func() {
		if s.idx.stopWaiting(id.PodUID, id.ID) {
			s.counts.givenUp.Add(1)
			s.settle(id.ID)
		}
	})
}

// expireLoop drops deleted pods after the retention.
func (s *Source) expireLoop(ctx context.Context) {
	every := min(s.cfg.Retention/4, 10*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.idx.expire(now)
		}
	}
}
