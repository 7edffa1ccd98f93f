// Package selector owns the Kubernetes-style choice of pods and containers
// that rule scopes and policy scopes use: namespaces, a pod
// label selector with the semantics of Kubernetes's metav1.LabelSelector,
// and container names. It is pure: it matches the values it is given, and
// knows nothing of how they were learnt.
package selector

import (
	"slices"

	"github.com/vigil-sec/vigil/internal/event"
)

// Operator is a label requirement's operator, spelt as in Kubernetes.
type Operator string

// The operators of a matchExpressions requirement.
const (
	In           Operator = "In"
	NotIn        Operator = "NotIn"
	Exists       Operator = "Exists"
	DoesNotExist Operator = "DoesNotExist"
)

// Operators lists the valid operators, for messages.
func Operators() []string {
	return []string{string(In), string(NotIn), string(Exists), string(DoesNotExist)}
}

// Requirement is one entry of matchExpressions.
type Requirement struct {
	Key      string
	Operator Operator
	// Values are required (non-empty) for In and NotIn, and must be empty
	// for Exists and DoesNotExist.
	Values []string
}

// Matches says whether labels meet the requirement. As in Kubernetes, NotIn
// holds for a pod without the key.
func (r *Requirement) Matches(labels map[string]string) bool {
	v, ok := labels[r.Key]
	switch r.Operator {
	case In:
		return ok && slices.Contains(r.Values, v)
	case NotIn:
		return !ok || !slices.Contains(r.Values, v)
	case Exists:
		return ok
	case DoesNotExist:
		return !ok
	}
	return false
}

// LabelSelector is Kubernetes's label selector: every matchLabels pair and
// every requirement must hold. An empty selector matches every pod.
type LabelSelector struct {
	MatchLabels      map[string]string
	MatchExpressions []Requirement
}

// Matches says whether labels meet the selector.
func (s *LabelSelector) Matches(labels map[string]string) bool {
	for k, want := range s.MatchLabels {
		if v, ok := labels[k]; !ok || v != want {
			return false
		}
	}
	for i := range s.MatchExpressions {
		if !s.MatchExpressions[i].Matches(labels) {
			return false
		}
	}
	return true
}

// Pods chooses containers of Kubernetes pods. Every criterion given must
// hold; one left out (nil) does not restrict. The zero value matches every
// container of every pod, and never a host process or a container outside
// Kubernetes.
type Pods struct {
	// Namespaces the pod must be in.
	Namespaces []string
	// PodSelector the pod's labels must meet; nil for any.
	PodSelector *LabelSelector
	// Containers are the container names (as in the pod's spec).
	Containers []string
}

// Matches says whether a container called container, of a pod in
// namespace with labels, is chosen.
func (p *Pods) Matches(namespace string, labels map[string]string, container string) bool {
	if len(p.Namespaces) > 0 && !slices.Contains(p.Namespaces, namespace) {
		return false
	}
	if p.PodSelector != nil && !p.PodSelector.Matches(labels) {
		return false
	}
	return len(p.Containers) == 0 || slices.Contains(p.Containers, container)
}

// MatchContainer says whether c, a process's container as events carry it,
// is chosen. A host process, a container outside Kubernetes and a pod
// whose namespace is not known yet (when the scope depends on it) are not:
// a scope decides on what is known, and never widens to what is not.
func (p *Pods) MatchContainer(c *event.Container) bool {
	if c == nil || c.Pod == nil || c.Pod.UID == "" {
		return false
	}
	if c.Pod.Namespace == "" && (len(p.Namespaces) > 0 || p.PodSelector != nil) {
		return false
	}
	if c.Name == "" && len(p.Containers) > 0 {
		return false
	}
	return p.Matches(c.Pod.Namespace, c.Pod.Labels, c.Name)
}
