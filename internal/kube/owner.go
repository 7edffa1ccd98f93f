package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// OwnerWatch follows the DaemonSet that runs the agent, so that at
// shutdown the agent can tell "the DaemonSet is going away" (helm
// uninstall, kubectl delete: the pinned enforcement must go with it) from
// "this pod is being replaced" (a rolling update, an eviction: the pins
// must stay for the next pod to adopt).
//
// Both cases send the pod SIGTERM, and nothing in the pod tells them
// apart; the DaemonSet does. The garbage collector deletes a DaemonSet's
// pods only after the DaemonSet object is gone (background cascade, the
// default of helm and kubectl) or carries a deletionTimestamp (foreground
// cascade); a rolling update leaves it in place. So a pod told to stop
// while its DaemonSet is gone or being deleted is being uninstalled.
//
// helm deletes the chart's RBAC right after the DaemonSet, possibly
// before the pod's SIGTERM, and a GET at that point may be refused. The
// watch, opened at start while the agent's identity was valid, has then
// already delivered the deletion: an established watch is not authorized
// again. Gone asks both.
type OwnerWatch struct {
	namespace, name string
	client          kubernetes.Interface
	log             *slog.Logger
	cancel          context.CancelFunc
	wg              sync.WaitGroup

	mu      sync.Mutex
	deleted bool // the watch saw the object deleted or deletionTimestamp set
}

// WatchOwner starts following DaemonSet namespace/name. RBAC: get, list
// and watch on that one DaemonSet (resourceNames), nothing more; the list
// and watch carry a metadata.name field selector, which such a rule
// allows.
func WatchOwner(rc *rest.Config, namespace, name string, log *slog.Logger) (*OwnerWatch, error) {
	if namespace == "" || name == "" {
		return nil, fmt.Errorf("owner daemonset %q/%q: want a namespace and a name", namespace, name)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return watchOwner(client, namespace, name, log), nil
}

func watchOwner(client kubernetes.Interface, namespace, name string, log *slog.Logger) *OwnerWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &OwnerWatch{namespace: namespace, name: name, client: client, log: log, cancel: cancel}
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	ds := client.AppsV1().DaemonSets(namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return ds.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return ds.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformerWithOptions(lw, &appsv1.DaemonSet{}, cache.SharedIndexInformerOptions{})
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		log.Debug("owner daemonset watch", "daemonset", namespace+"/"+name, "err", err)
	})
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.seen(obj) },
		UpdateFunc: func(_, obj any) { w.seen(obj) },
		DeleteFunc: func(any) { w.markDeleted() },
	})
	w.wg.Go(func() { inf.RunWithContext(ctx) })
	return w
}

func (w *OwnerWatch) seen(obj any) {
	if d, ok := obj.(*appsv1.DaemonSet); ok && d.DeletionTimestamp != nil {
		w.markDeleted()
	}
}

func (w *OwnerWatch) markDeleted() {
	w.mu.Lock()
	w.deleted = true
	w.mu.Unlock()
}

func (w *OwnerWatch) sawDeletion() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.deleted
}

// ownerPoll is how often Gone asks again while the answer is unclear.
const ownerPoll = 200 * time.Millisecond

// Gone says whether the DaemonSet is gone or being deleted, and why. It
// asks the API server until one of these is known: the watch saw the
// deletion; a GET finds no such DaemonSet, or one with a
// deletionTimestamp (gone); a GET finds it alive (not gone). When ctx
// ends first (the API server away, the agent's RBAC already deleted
// without the watch having seen the deletion) it answers not gone: an
// uninstall that leaves pins behind is recoverable (`vigil policy
// remove`, a reboot), a rolling update that drops enforcement is a gap.
func (w *OwnerWatch) Gone(ctx context.Context) (bool, string) {
	ref := "daemonset " + w.namespace + "/" + w.name
	var last error
	for {
		if w.sawDeletion() {
			return true, ref + " deleted (watch)"
		}
		d, err := w.client.AppsV1().DaemonSets(w.namespace).Get(ctx, w.name, metav1.GetOptions{})
		switch {
		case err == nil && d.DeletionTimestamp != nil:
			return true, ref + " being deleted"
		case err == nil:
			return false, ref + " in place"
		case apierrors.IsNotFound(err):
			return true, ref + " not found"
		}
		last = err
		t := time.NewTimer(ownerPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			if w.sawDeletion() {
				return true, ref + " deleted (watch)"
			}
			return false, fmt.Sprintf("%s unknown (%s): kept", ref, shortErr(errors.Join(last, ctx.Err())))
		case <-t.C:
		}
	}
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// Close stops the watch.
func (w *OwnerWatch) Close() {
	w.cancel()
	w.wg.Wait()
}

// ParseOwner splits "namespace/name".
func ParseOwner(s string) (namespace, name string, err error) {
	ns, n, ok := strings.Cut(s, "/")
	if !ok || ns == "" || n == "" || strings.Contains(n, "/") {
		return "", "", fmt.Errorf("%q: want NAMESPACE/NAME", s)
	}
	return ns, n, nil
}
