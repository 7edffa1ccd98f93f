package kube

import (
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/vigil-sec/vigil/internal/event"
)

// startWatch runs an informer of the pods on this node until ctx ends.
// client-go relists and rewatches on its own, with backoff, when the API
// server goes away; the wrappers below count what happens.
func (s *Source) startWatch(ctx context.Context) {
	sel := fields.OneTermEqualSelector("spec.nodeName", s.cfg.Node).String()
	pods := s.client.CoreV1().Pods(metav1.NamespaceAll)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			l, err := pods.List(ctx, o)
			s.answered(err)
			if err != nil {
				s.counts.listErrors.Add(1)
			}
			return l, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			s.counts.watchStarts.Add(1)
			w, err := pods.Watch(ctx, o)
			s.answered(err)
			return w, err
		},
	}
	inf := cache.NewSharedIndexInformerWithOptions(lw, &corev1.Pod{}, cache.SharedIndexInformerOptions{})
	// errors are returned only once the informer runs; none here
	_ = inf.SetTransform(strip)
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		s.watchError(err)
	})
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.podChanged(obj) },
		UpdateFunc: func(_, obj any) { s.podChanged(obj) },
		DeleteFunc: s.podDeleted,
	})
	s.synced, s.store = inf.HasSynced, inf.GetStore()
	s.wg.Go(func() { inf.RunWithContext(ctx) })
}

// answered records an answer from the API server, or its error. The
// reflector retries a refused connection by itself, without telling its
// error handler, so errors are counted here too.
func (s *Source) answered(err error) {
	if err != nil {
		s.watchError(err)
		return
	}
	s.counts.lastOK.Store(time.Now().UnixNano())
	s.counts.connected.Store(true)
}

// watchError counts an error of the watch and logs it: the first of an
// outage at warn, the retries at debug.
func (s *Source) watchError(err error) {
	n := s.counts.watchErrors.Add(1)
	s.counts.connected.Store(false)
	if s.counts.lastOK.Load() >= s.lastWarned.Load() {
		s.lastWarned.Store(time.Now().UnixNano())
		s.log.Warn("kubernetes: pod watch lost; retrying with backoff", "err", err, "errors", n)
	} else {
		s.log.Debug("kubernetes: pod watch", "err", err, "errors", n)
	}
}

// strip keeps of a pod only what the index reads, so that the informer's
// own store stays small (no spec, no managed fields, no annotations).
func strip(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
			Labels: p.Labels, OwnerReferences: p.OwnerReferences,
		},
		Spec: corev1.PodSpec{NodeName: p.Spec.NodeName, Containers: privilegedOnly(p.Spec.Containers),
			InitContainers: privilegedOnly(p.Spec.InitContainers)},
	}
	st := func(in []corev1.ContainerStatus) []corev1.ContainerStatus {
		if len(in) == 0 {
			return nil
		}
		o := make([]corev1.ContainerStatus, len(in))
		for i, c := range in {
			o[i] = corev1.ContainerStatus{Name: c.Name, ContainerID: c.ContainerID, Image: c.Image, ImageID: c.ImageID}
		}
		return o
	}
	out.Status.InitContainerStatuses = st(p.Status.InitContainerStatuses)
	out.Status.ContainerStatuses = st(p.Status.ContainerStatuses)
	out.Status.EphemeralContainerStatuses = st(p.Status.EphemeralContainerStatuses)
	return out, nil
}

// podChanged stores a pod the watch reported and publishes it to the
// table's containers of the pod.
func (s *Source) podChanged(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	ev, ctrs := fromPod(p)
	ups, waiting, stored := s.idx.upsert(ev, ctrs, privileged(p)...)
	if !stored {
		s.log.Debug("kubernetes: pod index full", "pod", p.Namespace+"/"+p.Name)
		return
	}
	for _, u := range ups {
		s.publish(u)
	}
	for _, id := range waiting {
		s.settle(id)
	}
	s.tell(p, false)
}

// podDeleted keeps a deleted pod resolvable for the retention.
func (s *Source) podDeleted(obj any) {
	if p, ok := podOf(obj); ok {
		s.idx.remove(string(p.UID), time.Now())
		s.tell(p, true)
	}
}

// privilegedOnly keeps the containers of a spec that run privileged, by
// name alone.
func privilegedOnly(in []corev1.Container) []corev1.Container {
	var out []corev1.Container
	for _, c := range in {
		if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
			t := true
			out = append(out, corev1.Container{Name: c.Name, SecurityContext: &corev1.SecurityContext{Privileged: &t}})
		}
	}
	return out
}

// privileged names the containers p's spec runs privileged (strip left
// only those).
func privileged(p *corev1.Pod) []string {
	var out []string
	for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range list {
			if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
				out = append(out, c.Name)
			}
		}
	}
	return out
}

// fromPod is the immutable event.Pod of p, and its containers.
func fromPod(p *corev1.Pod) (*event.Pod, []ctrInfo) {
	ev := &event.Pod{UID: string(p.UID), Name: p.Name, Namespace: p.Namespace,
		Workload: workload(p.Labels, p.OwnerReferences)}
	if len(p.Labels) > 0 {
		ev.Labels = make(map[string]string, len(p.Labels))
		for k, v := range p.Labels {
			ev.Labels[k] = v
		}
	}
	var ctrs []ctrInfo
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses,
		p.Status.ContainerStatuses, p.Status.EphemeralContainerStatuses} {
		for _, c := range list {
			id := containerID(c.ContainerID)
			if id == "" {
				continue
			}
			ctrs = append(ctrs, ctrInfo{id: id, name: c.Name, image: c.Image, digest: digest(c.ImageID)})
		}
	}
	return ev, ctrs
}

// containerID strips the runtime's scheme: "containerd://<id>" → "<id>".
func containerID(s string) string {
	if _, id, ok := strings.Cut(s, "://"); ok {
		return id
	}
	return s
}

// digest is the repository digest of an image reference,
// "repo@sha256:…" → "sha256:…"; "" when the reference has none (an image
// id names the local image, not what was pulled).
func digest(ref string) string {
	if _, d, ok := strings.Cut(ref, "@"); ok {
		return d
	}
	return ""
}
