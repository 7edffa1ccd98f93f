package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kubernetes is the pod watch's and the runtime lookups' numbers.
type Kubernetes struct {
	// Pods (live), Retained (deleted, kept for late events) and
	// Placeholders (met through a container before the API server
	// reported them) count against MaxPods.
	Pods, Retained, Placeholders, MaxPods int
	// Evictions counts pods dropped or refused because the index was full.
	Evictions uint64
	// CRI lookups: answered, failed, dropped (queue full).
	CRIOK, CRIFailed, CRIDropped uint64
	// GivenUp counts containers let go without their metadata.
	GivenUp uint64
	// WatchErrors counts the watch's errors, WatchRestarts the watches
	// opened.
	WatchErrors, WatchRestarts uint64
	Synced, Connected          bool
	// LastOK is when the API server last answered; zero if never.
	LastOK time.Time
}

// kubeDescs describe the container table's and Kubernetes' metrics.
type kubeDescs struct {
	pods, podsMax, podEvictions                   *prometheus.Desc
	criLookups, givenUp                           *prometheus.Desc
	watchErrors, watchRestarts, synced, connected *prometheus.Desc
	lastOK                                        *prometheus.Desc
}

func newKubeDescs(n func(name, help string, labels ...string) *prometheus.Desc) kubeDescs {
	return kubeDescs{
		pods:          n("kubernetes_pods", "Pods of this node the agent knows, by state: live, retained (deleted, kept for late events), placeholder (met through a container before the API server reported it).", "state"),
		podsMax:       n("kubernetes_pods_capacity", "Most pods the agent keeps, every state counted."),
		podEvictions:  n("kubernetes_pod_evictions_total", "Pods dropped before their time, or not stored, because the pod index was full."),
		criLookups:    n("kubernetes_cri_lookups_total", "Container lookups on the runtime's CRI socket, by outcome: ok, failed, dropped (the queue was full).", "outcome"),
		givenUp:       n("kubernetes_metadata_given_up_total", "Containers whose events were let go without the metadata: the runtime did not answer and the pod did not come in time."),
		watchErrors:   n("kubernetes_watch_errors_total", "Errors of the pod watch; each is retried with backoff."),
		watchRestarts: n("kubernetes_watch_restarts_total", "Pod watches opened (the first one included)."),
		synced:        n("kubernetes_synced", "1 once the first list of the node's pods arrived."),
		connected:     n("kubernetes_connected", "1 while the API server answers the pod watch."),
		lastOK:        n("kubernetes_last_success_timestamp_seconds", "When the API server last answered (Unix time), 0 if never."),
	}
}

func (c *Collector) collectMetadata(ch chan<- prometheus.Metric, s PipelineStats) {
	d := &c.desc.kube
	k := s.Kubernetes
	if k == nil {
		return // no Kubernetes: no series
	}
	ch <- gauge(d.pods, float64(k.Pods), "live")
	ch <- gauge(d.pods, float64(k.Retained), "retained")
	ch <- gauge(d.pods, float64(k.Placeholders), "placeholder")
	ch <- gauge(d.podsMax, float64(k.MaxPods))
	ch <- counter(d.podEvictions, float64(k.Evictions))
	ch <- counter(d.criLookups, float64(k.CRIOK), "ok")
	ch <- counter(d.criLookups, float64(k.CRIFailed), "failed")
	ch <- counter(d.criLookups, float64(k.CRIDropped), "dropped")
	ch <- counter(d.givenUp, float64(k.GivenUp))
	ch <- counter(d.watchErrors, float64(k.WatchErrors))
	ch <- counter(d.watchRestarts, float64(k.WatchRestarts))
	ch <- gauge(d.synced, b2f(k.Synced))
	ch <- gauge(d.connected, b2f(k.Connected))
	last := 0.0
	if !k.LastOK.IsZero() {
		last = float64(k.LastOK.UnixNano()) / 1e9
	}
	ch <- gauge(d.lastOK, last)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
