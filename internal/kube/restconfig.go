package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Modes of Kubernetes support, for --kubernetes and kubernetes.enabled.
const (
	ModeAuto = "auto" // on where Kubernetes is configured, off elsewhere
	ModeOn   = "on"   // on, and an error where it cannot be
	ModeOff  = "off"
)

// ErrNotConfigured says Kubernetes was asked for, and neither a kubeconfig
// nor the in-cluster environment says how to reach the API server.
var ErrNotConfigured = errors.New("kubernetes: no kubeconfig given (--kubeconfig, KUBECONFIG) " +
	"and not in a pod (KUBERNETES_SERVICE_HOST unset)")

// Options are the user's Kubernetes settings, from flags, the config file
// and the environment; Resolve turns them into a Config.
type Options struct {
	Mode       string // ModeAuto ("" too), ModeOn, ModeOff
	Kubeconfig string // "" takes KUBECONFIG, then the in-cluster configuration
	Node       string // "" takes NODE_NAME, then the hostname
	CRISocket  string
	Getenv     func(string) string // os.Getenv when nil
}

// Resolve says whether Kubernetes is wanted and, if so, how to reach it.
// In auto mode it is wanted only when configured: a kubeconfig given (the
// option or KUBECONFIG) or the agent running in a pod; elsewhere it
// returns nil, nil, and nothing about the agent changes.
func Resolve(o Options) (*Config, error) {
	env := o.Getenv
	if env == nil {
		env = os.Getenv
	}
	switch o.Mode {
	case "", ModeAuto, ModeOn:
	case ModeOff:
		return nil, nil
	default:
		return nil, fmt.Errorf("kubernetes mode %q: want auto, on or off", o.Mode)
	}
	kubeconfig := o.Kubeconfig
	if kubeconfig == "" {
		kubeconfig = env("KUBECONFIG")
	}
	inCluster := env("KUBERNETES_SERVICE_HOST") != "" && env("KUBERNETES_SERVICE_PORT") != ""
	if kubeconfig == "" && !inCluster {
		if o.Mode == ModeOn {
			return nil, ErrNotConfigured
		}
		return nil, nil
	}
	var rc *rest.Config
	var err error
	if kubeconfig != "" {
		rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(kubeconfig)}
		if o.Kubeconfig != "" {
			rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: o.Kubeconfig}
		}
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
		}
		// the kubeconfig's CA as it is now: client-go caches transports by
		// the CA file's path, so a file rewritten for another server (a
		// new cluster at the same path) would meet a transport holding the
		// old CA
		if f := rc.TLSClientConfig.CAFile; f != "" && len(rc.TLSClientConfig.CAData) == 0 {
			if rc.TLSClientConfig.CAData, err = os.ReadFile(f); err != nil {
				return nil, fmt.Errorf("kubeconfig %s: certificate authority: %w", kubeconfig, err)
			}
			rc.TLSClientConfig.CAFile = ""
		}
	} else if rc, err = rest.InClusterConfig(); err != nil {
		return nil, fmt.Errorf("kubernetes in-cluster configuration: %w", err)
	}
	rc.UserAgent = "vigil"
	node := o.Node
	if node == "" {
		node = env("NODE_NAME")
	}
	if node == "" {
		if node, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("kubernetes node name: %w", err)
		}
	}
	return &Config{Node: node, REST: rc, CRISocket: o.CRISocket}, nil
}
