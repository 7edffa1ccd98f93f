package kube_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv/kubelab"
)

// TestAgainstCluster runs the source against a real kubelet and
// containerd: the runtime names a real container before the API server
// is consulted, and a Deployment's pod has the Deployment as workload.
func TestAgainstCluster(t *testing.T) {
	lab := kubelab.Cluster(t)
	const ns = "vigil-kube-test-cluster"
	namespace(t, lab, ns)
	lab.Apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: probe
  namespace: %s
  labels:
    app: probe
spec:
  nodeName: %s
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: %s
    imagePullPolicy: Never
    command: ["sleep", "3600"]
`, ns, lab.NodeName, lab.BusyboxImage))
	uid := lab.WaitPod(ns, "probe")
	id := lab.PodContainerID(ns, "probe", "app")
	apiImage := kubectl(t, lab, "-n", ns, "get", "pod", "probe", "-o", `jsonpath={.status.containerStatuses[0].imageID}`)

	t.Run("runtime alone", func(t *testing.T) {
		// a node whose pods the watch never sees: all that comes is the
		// runtime's
		src, r := start(t, lab, "vigil-kube-test-nowhere", lab.CRISocket, nil)
		ref := r.Bind(cgroupPath(uid, id))
		waitFor(t, "runtime lookup settled", func() bool { return !ref.Pending() },
			func() string { return fmt.Sprintf("%+v", src.Stats()) })
		c := ref.Load()
		if c.Name != "app" || c.Pod == nil || c.Pod.Name != "probe" || c.Pod.Namespace != ns || c.Pod.UID != uid ||
			c.Pod.Labels["app"] != "probe" {
			t.Fatalf("from the runtime: %+v pod %+v", c, c.Pod)
		}
		if c.Image == "" || strings.HasPrefix(c.Image, "sha256:") {
			t.Errorf("image %q: want the reference the pod names", c.Image)
		}
		if _, d, _ := strings.Cut(apiImage, "@"); c.ImageDigest != d {
			t.Errorf("digest %q, the kubelet reports image id %q", c.ImageDigest, apiImage)
		}
		if s := src.Stats(); s.CRIOK != 1 || s.Pods != 0 || s.CRISocket != lab.CRISocket {
			t.Errorf("stats %+v: want one lookup, no pod from the API server", s)
		}
		t.Logf("runtime said: name %q image %q digest %q pod %s/%s labels %v", c.Name, c.Image, c.ImageDigest,
			c.Pod.Namespace, c.Pod.Name, c.Pod.Labels)
	})

	t.Run("deployment", func(t *testing.T) {
		src, r := start(t, lab, lab.NodeName, lab.CRISocket, nil)
		lab.Apply(fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: %s
spec:
  replicas: 1
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: %s
        imagePullPolicy: Never
        command: ["sleep", "3600"]
`, ns, lab.BusyboxImage))
		var pod string
		waitFor(t, "deployment's pod", func() bool {
			out, err := lab.Kubectl("-n", ns, "get", "pods", "-l", "app=shop", "-o", "jsonpath={.items[0].metadata.name}")
			pod = strings.TrimSpace(out)
			return err == nil && pod != ""
		}, func() string { return "no pod" })
		uid := lab.WaitPod(ns, pod)
		id := lab.PodContainerID(ns, pod, "web")
		ref := r.Bind(cgroupPath(uid, id))
		waitFor(t, "workload", func() bool {
			c := ref.Load()
			return c.Pod != nil && c.Pod.Workload != nil && c.Name == "web"
		}, func() string { return fmt.Sprintf("%+v %+v", ref.Load(), src.Stats()) })
		if w := ref.Load().Pod.Workload; w.Kind != "Deployment" || w.Name != "shop" {
			t.Errorf("workload %+v, want Deployment shop", w)
		}
	})
}
