package agent

import (
	"log/slog"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/enforce"
	"github.com/vigil-sec/vigil/internal/kube"
	"github.com/vigil-sec/vigil/internal/metrics"
)

// kubeSyncWait bounds how long start-up waits for the first list of the
// node's pods, so that the processes snapshotted at start are bound with
// their pods; an API server that is away delays the start by this much,
// and its pods come when it is back.
const kubeSyncWait = 3 * time.Second

// startKube starts the pod watch early in New: its first list overlaps
// with loading the sensors.
func (a *Agent) startKube() error {
	if a.cfg.Kubernetes == nil {
		return nil // no source: the container table works as without Kubernetes
	}
	kc := *a.cfg.Kubernetes
	if kc.Log == nil {
		kc.Log = a.log
	}
	var err error
	a.kube, err = kube.Start(kc)
	return err
}

// attachKube makes the pod watch the container table's metadata source,
// before the first process is bound, and holds new containers' first
// events while the source looks them up.
func (a *Agent) attachKube(r *container.Resolver) {
	if a.kube == nil {
		return
	}
	a.containers.SetSource(a.kube.Attach(a.containers))
	a.holdFor(r)
	if !a.kube.WaitSynced(kubeSyncWait) {
		a.log.Warn("kubernetes: no list of the node's pods yet; starting without it", "waited", kubeSyncWait)
	}
	if a.enforcer != nil {
		a.kube.Listen(podsTo(a.enforcer, a.log))
	}
}

// podsTo tells the enforce stage of the node's pods, for policies scoped
// to namespaces and labels.
func podsTo(e *enforce.Enforcer, log *slog.Logger) kube.Listener {
	state := func(c kube.PodChange) enforce.PodState {
		return enforce.PodState{UID: c.UID, Namespace: c.Namespace, Labels: c.Labels,
			Containers: c.Containers, Deleted: c.Deleted}
	}
	return kube.Listener{
		Sync: func(pods []kube.PodChange) {
			states := make([]enforce.PodState, len(pods))
			for i, p := range pods {
				states[i] = state(p)
			}
			if err := e.SyncPods(states); err != nil {
				log.Error("pod-scoped policies: sync the node's pods", "err", err)
			}
		},
		Change: func(p kube.PodChange) {
			if err := e.UpdatePod(state(p)); err != nil {
				log.Error("pod-scoped policies: follow a pod", "pod", p.Namespace+"/"+p.UID, "err", err)
			}
		},
	}
}

func (a *Agent) closeKube() {
	if a.kube == nil {
		return
	}
	if err := a.kube.Close(); err != nil {
		a.log.Error("close kubernetes watch", "err", err)
	}
	a.kube = nil
}

// metadataStats are the Kubernetes source's numbers, for metrics (the
// container table's are containerStats').
func (a *Agent) metadataStats(s *metrics.PipelineStats) {
	if a.kube == nil {
		return
	}
	k := a.kube.Stats()
	m := &metrics.Kubernetes{Pods: k.Pods, Retained: k.Retained, Placeholders: k.Placeholders, MaxPods: k.MaxPods,
		Evictions: k.Evictions, CRIOK: k.CRIOK, CRIFailed: k.CRIFailed, CRIDropped: k.CRIDropped, GivenUp: k.GivenUp,
		WatchErrors: k.WatchErrors, WatchRestarts: k.WatchRestarts, Synced: k.Synced, Connected: k.Connected}
	if !k.LastOK.IsZero() {
		m.LastOK = k.LastOK
	}
	s.Kubernetes = m
}
