package agent

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kube"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/testenv/kubelab"
)

// TestKubernetesPodOnEvents: with Kubernetes configured, the exec of a
// real pod's process carries the pod and the container's name, from a
// real kubelet, containerd and API server.
func TestKubernetesPodOnEvents(t *testing.T) {
	testenv.RequirePrivileged(t)
	lab := kubelab.Cluster(t)
	kc, err := kube.Resolve(kube.Options{Mode: kube.ModeOn, Kubeconfig: lab.AgentKubeconfig, Node: lab.NodeName,
		CRISocket: lab.CRISocket})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, Config{Kubernetes: kc})
	const ns = "vigil-kube-test-agent"
	if out, err := lab.Kubectl("create", "namespace", ns); err != nil {
		t.Fatal(out, err)
	}
	t.Cleanup(func() { _, _ = lab.Kubectl("delete", "namespace", ns, "--wait=false") })
	lab.Apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: agent-probe, namespace: %s, labels: {app: probe}}
spec:
  nodeName: %s
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: %s
    imagePullPolicy: Never
    command: ["sh", "-c", "/bin/true vigil-kube-marker; sleep 3600"]
`, ns, lab.NodeName, lab.BusyboxImage))
	// the container's first exec (its shell) as well as its child's
	shell := r.waitFor(t, "the shell's exec", withArg(event.KindProcessExec, "/bin/true vigil-kube-marker; sleep 3600"))
	child := r.waitFor(t, "the marker's exec", withArg(event.KindProcessExec, "vigil-kube-marker"))
	for _, ev := range []*event.Event{shell, child} {
		c := ev.Process.Container
		if c == nil || c.Pod == nil || c.Pod.Name != "agent-probe" || c.Pod.Namespace != ns || c.Name != "app" ||
			c.Pod.Labels["app"] != "probe" || !strings.Contains(c.Image, "busybox") {
			t.Fatalf("container on %v: %+v, pod %+v", ev.Process.Args, c, c.Pod)
		}
	}
	st := r.PipelineStats()
	if st.Kubernetes == nil || !st.Kubernetes.Synced || st.Containers.Entries == 0 || st.Containers.Held == 0 {
		t.Errorf("stats: %+v %+v", st.Kubernetes, st.Containers)
	}
}
