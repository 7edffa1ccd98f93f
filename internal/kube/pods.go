package kube

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// PodRef names a pod found by FindPods.
type PodRef struct {
	Namespace, Name, UID, Node string
}

// FindPods asks the API server for the pods of namespace named name, or,
// with name empty, those selector (a label selector) matches, in name
// order: what vigil profile --pod records.
func FindPods(ctx context.Context, cfg *Config, namespace, name, selector string) ([]PodRef, error) {
	client, err := kubernetes.NewForConfig(cfg.REST)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	pods := client.CoreV1().Pods(namespace)
	var refs []PodRef
	if name != "" {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s: %w", namespace, name, err)
		}
		return []PodRef{{p.Namespace, p.Name, string(p.UID), p.Spec.NodeName}}, nil
	}
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("pods of %s matching %q: %w", namespace, selector, err)
	}
	for _, p := range list.Items {
		refs = append(refs, PodRef{p.Namespace, p.Name, string(p.UID), p.Spec.NodeName})
	}
	slices.SortFunc(refs, func(a, b PodRef) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return refs, nil
}
