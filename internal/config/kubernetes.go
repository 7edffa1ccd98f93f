package config

import (
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// Kubernetes is the kubernetes section: how the agent learns the pods of
// its node (docs/configuration.md). Zero values take the command line's,
// then the defaults.
type Kubernetes struct {
	// Mode is auto (on where a kubeconfig is given or the agent runs in a
	// pod), on, or off; "" when the file does not say.
	Mode       string
	Kubeconfig string
	// Node is the node whose pods to watch.
	Node string
	// CRISocket is the runtime's CRI socket; "none" turns lookups off.
	CRISocket string
	// DeletedPodRetention is how long a deleted pod stays resolvable for
	// late events; MaxPods caps the pods kept, live and deleted.
	DeletedPodRetention time.Duration
	MaxPods             int
}

// kubernetesModes are what kubernetes.mode and --kubernetes accept.
var kubernetesModes = []string{"auto", "on", "off"}

func (d *decoder) kubernetes(n *yaml.Node, field string) Kubernetes {
	var k Kubernetes
	f, ok := d.mapping(n, field, "mode", "kubeconfig", "node", "cri_socket", "deleted_pod_retention", "max_pods")
	if !ok {
		return k
	}
	if v := f["mode"]; v != nil {
		// on/off rather than true/false: auto is neither
		k.Mode = d.str(v, field+".mode")
		if k.Mode != "" && !slices.Contains(kubernetesModes, k.Mode) {
			d.errorf(v, field+".mode", "%q: want auto, on or off", k.Mode)
		}
	}
	decodeKey(f, field, "kubeconfig", &k.Kubeconfig, d.str)
	decodeKey(f, field, "node", &k.Node, d.str)
	decodeKey(f, field, "cri_socket", &k.CRISocket, d.str)
	decodeKey(f, field, "deleted_pod_retention", &k.DeletedPodRetention, d.duration)
	decodeKey(f, field, "max_pods", &k.MaxPods, d.atLeast(1))
	if v := f["deleted_pod_retention"]; v != nil && k.DeletedPodRetention <= 0 {
		d.errorf(v, field+".deleted_pod_retention", "want a positive duration, e.g. 5m")
	}
	return k
}
