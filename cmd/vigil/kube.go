package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/kube"
)

// kubeFlags are vigil run's Kubernetes flags; --node is shared with the
// events' node name.
type kubeFlags struct {
	mode       string
	kubeconfig string
	criSocket  string
}

func (k *kubeFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&k.mode, "kubernetes", kube.ModeAuto, "pod names, labels and images on events: auto (when a kubeconfig is given or "+
		"vigil runs in a pod), on (fail without them) or off")
	fl.StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig to reach the API server (default: KUBECONFIG, then the in-cluster configuration)")
	fl.StringVar(&k.criSocket, "cri-socket", "", "container runtime's CRI socket (default: containerd's, then CRI-O's; \"none\" for no runtime lookups)")
}

// kubeConfig lays the flags given over the file's kubernetes section and
// resolves them; nil when Kubernetes is off or not configured (auto).
// The node is --node, then the file's, then NODE_NAME, then the hostname.
func kubeConfig(f runFlags, file config.Kubernetes) (*kube.Config, error) {
	o := kube.Options{Mode: file.Mode, Kubeconfig: file.Kubeconfig, Node: file.Node, CRISocket: file.CRISocket}
	if f.given("kubernetes") || o.Mode == "" {
		o.Mode = f.kube.mode
	}
	if f.given("kubeconfig") {
		o.Kubeconfig = f.kube.kubeconfig
	}
	if f.given("cri-socket") {
		o.CRISocket = f.kube.criSocket
	}
	if f.node != "" {
		o.Node = f.node
	}
	c, err := kube.Resolve(o)
	if err != nil {
		return nil, fmt.Errorf("--kubernetes %s: %w", o.Mode, err)
	}
	if c != nil {
		c.Retention, c.MaxPods = file.DeletedPodRetention, file.MaxPods
	}
	return c, nil
}
