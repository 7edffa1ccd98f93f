package output

import (
	"sync"

	"github.com/vigil-sec/vigil/internal/event"
)

// PodLabels says which of a pod's names the alert counts keep apart, for
// the metrics' namespace, pod and workload labels. Every label multiplies
// the series a Prometheus server stores (pods come and go: a pod label on
// a busy cluster makes a new series per pod), so each is asked for, none
// is on by default.
type PodLabels struct {
	Namespace, Pod, Workload bool
}

// Any says whether any label is on.
func (l PodLabels) Any() bool { return l.Namespace || l.Pod || l.Workload }

// Names are the label names that are on, in a fixed order.
func (l PodLabels) Names() []string {
	var out []string
	for _, x := range []struct {
		on   bool
		name string
	}{{l.Namespace, "namespace"}, {l.Pod, "pod"}, {l.Workload, "workload"}} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return out
}

// MaxPodAlertKeys bounds the alert counts kept apart by pod: beyond it, a
// new combination is counted with its pod names as OtherPod, so that pod
// churn cannot grow the counts (and the series) without bound: the cap,
// plus at most one folded combination per rule, severity and action.
const MaxPodAlertKeys = 4096

// OtherPod is the value of the pod labels of the alerts counted beyond
// MaxPodAlertKeys.
const OtherPod = "_other"

// AlertCount is how many alerts one rule raised with one severity and
// action, and, when PodLabels asks, in one namespace, pod or workload
// ("" for host processes and for the labels not asked for).
type AlertCount struct {
	Rule      string
	Severity  event.Severity
	Action    event.Action
	Namespace string
	Pod       string
	Workload  string
	Count     uint64
}

type alertKey struct {
	rule                     string
	severity                 event.Severity
	action                   event.Action
	namespace, pod, workload string
}

// alertCounts is locked: alerts are rare next to events, and rule names
// are an open set.
type alertCounts struct {
	mu     sync.Mutex
	labels PodLabels
	n      map[alertKey]uint64
}

func (c *alertCounts) add(al *event.Alert) {
	k := alertKey{rule: al.Rule.Name, severity: al.Rule.Severity, action: al.Action}
	if k.action == "" {
		k.action = event.ActionAlert
	}
	if c.labels.Any() {
		c.podKey(&k, al)
	}
	c.mu.Lock()
	if c.n == nil {
		c.n = make(map[alertKey]uint64)
	}
	if _, seen := c.n[k]; !seen && len(c.n) >= MaxPodAlertKeys && c.labels.Any() {
		k.namespace, k.pod, k.workload = fold(k.namespace), fold(k.pod), fold(k.workload)
	}
	c.n[k]++
	c.mu.Unlock()
}

// fold is a label's value beyond the cap: OtherPod, or "" when the label
// is off or the alert was a host process's.
func fold(v string) string {
	if v == "" {
		return ""
	}
	return OtherPod
}

// podKey fills the labels asked for from the alert's process's pod.
func (c *alertCounts) podKey(k *alertKey, al *event.Alert) {
	if al.Event == nil || al.Event.Process == nil || al.Event.Process.Container == nil {
		return
	}
	pod := al.Event.Process.Container.Pod
	if pod == nil {
		return
	}
	if c.labels.Namespace {
		k.namespace = pod.Namespace
	}
	if c.labels.Pod {
		k.pod = pod.Name
	}
	if c.labels.Workload && pod.Workload != nil {
		k.workload = pod.Workload.Name
	}
}

func (c *alertCounts) snapshot() []AlertCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]AlertCount, 0, len(c.n))
	for k, n := range c.n {
		out = append(out, AlertCount{Rule: k.rule, Severity: k.severity, Action: k.action,
			Namespace: k.namespace, Pod: k.pod, Workload: k.workload, Count: n})
	}
	return out
}
