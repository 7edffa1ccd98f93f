package kube

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// PodChange is what a listener is told of one pod of the node: its state
// after a change, or that it is gone.
type PodChange struct {
	UID       string
	Namespace string
	Labels    map[string]string
	// Containers maps the pod's container names to their runtime ids, for
	// the containers that have one yet.
	Containers map[string]string
	Deleted    bool
}

// Listener is told of the node's pods: Sync once with every pod the watch
// holds when it starts listening (pods it does not list are gone), then
// Change at each add, change and deletion. Both run on the watch's
// goroutine, one at a time, never on the event path, so they may do I/O.
type Listener struct {
	Sync   func([]PodChange)
	Change func(PodChange)
}

// Listen starts telling l of the node's pods. The first Sync comes once
// the watch has listed the pods (at once if it has), in order with the
// changes that follow it; nothing is told after Close.
func (s *Source) Listen(l Listener) {
	s.listenMu.Lock()
	s.listener = &l
	s.listenMu.Unlock()
	ctx := s.ctx
	s.wg.Go(func() {
		for !s.synced() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		s.listenMu.Lock()
		defer s.listenMu.Unlock()
		if s.listener != nil && ctx.Err() == nil {
			s.listener.Sync(s.podChanges())
		}
	})
}

// tell passes one change to the listener, if any.
func (s *Source) tell(p *corev1.Pod, deleted bool) {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	if s.listener != nil && s.synced() {
		s.listener.Change(changeOf(p, deleted))
	}
}

// podChanges lists the pods the informer holds.
func (s *Source) podChanges() []PodChange {
	var out []PodChange
	for _, obj := range s.store.List() {
		if p, ok := obj.(*corev1.Pod); ok {
			out = append(out, changeOf(p, false))
		}
	}
	return out
}

func changeOf(p *corev1.Pod, deleted bool) PodChange {
	c := PodChange{UID: string(p.UID), Namespace: p.Namespace, Labels: p.Labels, Deleted: deleted}
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses,
		p.Status.ContainerStatuses, p.Status.EphemeralContainerStatuses} {
		for _, st := range list {
			if id := containerID(st.ContainerID); id != "" {
				if c.Containers == nil {
					c.Containers = make(map[string]string)
				}
				c.Containers[st.Name] = id
			}
		}
	}
	return c
}

// podOf unwraps what a delete handler is given.
func podOf(obj any) (*corev1.Pod, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, ok := obj.(*corev1.Pod)
	return p, ok
}
