package rule

import (
	"github.com/vigil-sec/vigil/internal/event"
)

// The k8s object gives conditions Falco's names for a pod's identity
// (k8s.ns.name, k8s.pod.name, k8s.pod.labels), so that rules and habits
// carry over. It reads the same event.Pod as container.pod; the Go types
// below are that struct under other names, because the schema picks an
// object's CEL type by its Go type, and a pointer conversion between them
// costs nothing (no copy, no allocation per event).

// k8sObj is a pod seen as the k8s object.
type k8sObj event.Pod

// k8sNS is a pod seen as its namespace (k8s.ns).
type k8sNS event.Pod

// k8sOf is c's pod as the k8s object, nil outside pods.
func k8sOf(c *event.Container) *k8sObj {
	if c == nil || c.Pod == nil {
		return nil
	}
	return (*k8sObj)(c.Pod)
}

// k8sTypes declares the pod, workload and k8s objects.
func k8sTypes(z *zeroes) (podT, workloadT, k8sT, k8sNST *objType) {
	workloadT = newObjType("vigil.Workload",
		strField("kind", "Deployment, StatefulSet, DaemonSet, Job, CronJob, …", func(w *event.Workload) string { return w.Kind }),
		strField("name", "the controller's name", func(w *event.Workload) string { return w.Name }),
	)
	podT = newObjType("vigil.Pod",
		strField("uid", "pod UID", func(p *event.Pod) string { return p.UID }),
		strField("name", "pod name", func(p *event.Pod) string { return p.Name }),
		strField("namespace", "pod namespace", func(p *event.Pod) string { return p.Namespace }),
		strMapField("labels", "pod labels", func(p *event.Pod) map[string]string { return p.Labels }),
		objField("workload", "the controller at the top of the pod's owners", workloadT, &z.workload,
			func(p *event.Pod) *event.Workload { return p.Workload }),
	)
	k8sNST = newObjType("vigil.K8sNamespace",
		strField("name", "namespace name (Falco's k8s.ns.name)", func(n *k8sNS) string { return n.Namespace }),
	)
	k8sT = newObjType("vigil.K8s",
		objField("ns", "the pod's namespace", k8sNST, (*k8sNS)(&z.pod), func(k *k8sObj) *k8sNS { return (*k8sNS)(k) }),
		objField("pod", "the pod: uid, name, namespace, labels, workload (Falco's k8s.pod.*)", podT, &z.pod,
			func(k *k8sObj) *event.Pod { return (*event.Pod)(k) }),
		objField("workload", "the pod's controller: kind, name", workloadT, &z.workload,
			func(k *k8sObj) *event.Workload { return k.Workload }),
	)
	return podT, workloadT, k8sT, k8sNST
}
