package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/enforce"
	"github.com/vigil-sec/vigil/internal/kube"
)

// kubeFlags are vigil run's Kubernetes flags; --node is shared with the
// events' node name.
type kubeFlags struct {
	mode       string
	kubeconfig string
	criSocket  string
	daemonset  string
}

func (k *kubeFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&k.mode, "kubernetes", kube.ModeAuto, "pod names, labels and images on events: auto (when a kubeconfig is given or "+
		"vigil runs in a pod), on (fail without them) or off")
	fl.StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig to reach the API server (default: KUBECONFIG, then the in-cluster configuration)")
	fl.StringVar(&k.criSocket, "cri-socket", "", "container runtime's CRI socket (default: containerd's, then CRI-O's; \"none\" for no runtime lookups)")
	fl.StringVar(&k.daemonset, "daemonset", "", "NAMESPACE/NAME of the DaemonSet running this agent: at exit the pinned enforcement is removed "+
		"when it is gone or being deleted (uninstall) and kept otherwise (rolling update); needs get, list, watch on it")
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

// ownerWatch follows --daemonset, nil without it.
func ownerWatch(f runFlags, kc *kube.Config, log *slog.Logger) (*kube.OwnerWatch, error) {
	if f.kube.daemonset == "" {
		return nil, nil
	}
	ns, name, err := kube.ParseOwner(f.kube.daemonset)
	if err != nil {
		return nil, fmt.Errorf("--daemonset %w", err)
	}
	if kc == nil {
		return nil, errors.New("--daemonset needs Kubernetes (in a pod, or --kubeconfig)")
	}
	return kube.WatchOwner(kc.REST, ns, name, log)
}

// ownerGoneWait bounds the question at exit, well inside the chart's
// terminationGracePeriodSeconds.
const ownerGoneWait = 10 * time.Second

// releaseIfUninstalled removes the pinned enforcement (detaching its
// programs) when the agent's DaemonSet is gone or being deleted, after
// the agent let go of everything; otherwise the pins stay for the next
// pod. Call it after Agent.Close.
func releaseIfUninstalled(owner *kube.OwnerWatch, pinDir string, log *slog.Logger) error {
	if owner == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), ownerGoneWait)
	defer cancel()
	gone, why := owner.Gone(ctx)
	owner.Close()
	if !gone {
		log.Info("pinned enforcement kept for the next agent", "why", why, "dir", pinDir)
		return nil
	}
	if err := enforce.Uninstall(pinDir); err != nil {
		return fmt.Errorf("uninstall: remove the pinned enforcement: %w", err)
	}
	log.Info("pinned enforcement removed: the agent is uninstalled", "why", why, "dir", pinDir)
	return nil
}
