package kube_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/container"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kube"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/testenv/kubelab"
)

// start runs a source against the lab as the agent's user (get, list and
// watch on pods: what the DaemonSet's RBAC gives), publishing to a fresh
// container table; both are closed when the test ends.
func start(t *testing.T, lab *kubelab.Lab, node, cri string, tune func(*kube.Config)) (*kube.Source, *container.Resolver) {
	t.Helper()
	cfg, err := kube.Resolve(kube.Options{Mode: kube.ModeOn, Kubeconfig: lab.AgentKubeconfig, Node: node, CRISocket: cri})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if tune != nil {
		tune(cfg)
	}
	src, err := kube.Start(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Error(err)
		}
	})
	r := container.NewResolver(256)
	r.Table().SetSource(src.Attach(r.Table()))
	if !src.WaitSynced(testenv.WaitLimit) {
		t.Fatalf("no first list of the pods after %v: %+v", testenv.WaitLimit, src.Stats())
	}
	return src, r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// waitFor polls cond until it holds, failing the test after
// testenv.WaitLimit with what describe says.
func waitFor(t *testing.T, what string, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %s", what, testenv.WaitLimit, describe())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func kubectl(t *testing.T, lab *kubelab.Lab, args ...string) string {
	t.Helper()
	out, err := lab.Kubectl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// fakeID is a container id (64 hex digits) of the test's own.
func fakeID(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

// cgroupPath is where the kubelet would put a container of a pod.
func cgroupPath(podUID, id string) string {
	return "/kubepods/besteffort/pod" + podUID + "/" + id
}

// podYAML is a bare pod bound to node: without a kubelet (an APIServer
// lab) it stays Pending, and its status is the test's to write.
func podYAML(ns, name, node string, labels map[string]string) string {
	var l strings.Builder
	for k, v := range labels {
		fmt.Fprintf(&l, "\n    %s: %q", k, v)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels:%s
spec:
  nodeName: %s
  containers:
  - name: app
    image: docker.io/library/busybox:1.36
`, name, ns, l.String(), node)
}

// setStatus writes the pod's status as a kubelet would: one running
// container with its id and image.
func setStatus(t *testing.T, lab *kubelab.Lab, ns, name, id string) {
	t.Helper()
	patch := fmt.Sprintf(`{"status":{"phase":"Running","containerStatuses":[{"name":"app","ready":true,"restartCount":0,`+
		`"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}},"image":"docker.io/library/busybox:1.36",`+
		`"imageID":"docker.io/library/busybox@sha256:%s","containerID":"containerd://%s"}]}}`, fakeID("image"), id)
	kubectl(t, lab, "-n", ns, "patch", "pod", name, "--subresource=status", "--type=merge", "-p", patch)
}

func namespace(t *testing.T, lab *kubelab.Lab, ns string) {
	t.Helper()
	kubectl(t, lab, "create", "namespace", ns)
	// an APIServer lab runs no controller to make it, and pods need it
	lab.Apply("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: " + ns + "\n")
	t.Cleanup(func() {
		if _, err := lab.Kubectl("delete", "namespace", ns, "--wait=false"); err != nil {
			t.Error(err)
		}
	})
}

func podUID(t *testing.T, lab *kubelab.Lab, ns, name string) string {
	t.Helper()
	return kubectl(t, lab, "-n", ns, "get", "pod", name, "-o", "jsonpath={.metadata.uid}")
}

// TestAgainstAPIServer runs the watch against a real kube-apiserver: the
// node's pods only, a label change reaching a bound container, deletion,
// retention and drop, the cap, and an outage of the API server.
func TestAgainstAPIServer(t *testing.T) {
	lab := kubelab.APIServer(t)
	const ns = "vigil-kube-test-watch"
	namespace(t, lab, ns)
	const node = "vigil-kube-test-node-1"
	src, r := start(t, lab, node, kube.CRINone, func(c *kube.Config) { c.Retention = 3 * time.Second })

	lab.Apply(podYAML(ns, "web", node, map[string]string{"app": "web"}))
	lab.Apply(podYAML(ns, "elsewhere", "vigil-kube-test-node-2", map[string]string{"app": "web"}))
	uid := podUID(t, lab, ns, "web")
	other := podUID(t, lab, ns, "elsewhere")
	ctr := fakeID("web/app")

	t.Run("node's pods only", func(t *testing.T) {
		waitFor(t, "pod web indexed", func() bool { return src.Stats().Pods == 1 }, func() string { return fmt.Sprintf("%+v", src.Stats()) })
		var c event.Container
		src.Fill(container.Identity{ID: fakeID("elsewhere/app"), PodUID: other}, &c)
		if c.Pod != nil {
			t.Errorf("a pod of another node was indexed: %+v", c.Pod)
		}
	})

	var ref *event.ContainerRef
	t.Run("first bind has the pod, the status adds the container", func(t *testing.T) {
		ref = r.Bind(cgroupPath(uid, ctr))
		c := ref.Load()
		if c.Pod == nil || c.Pod.Name != "web" || c.Pod.Namespace != ns || c.Pod.Labels["app"] != "web" || c.Pod.Workload != nil {
			t.Fatalf("first value %+v, pod %+v: want pod %s/web, app=web, no workload", c, c.Pod, ns)
		}
		waitFor(t, "settled", func() bool { return !ref.Pending() }, func() string { return fmt.Sprintf("%+v", src.Stats()) })
		setStatus(t, lab, ns, "web", ctr)
		waitFor(t, "container name from the status", func() bool { return ref.Load().Name == "app" },
			func() string { return fmt.Sprintf("%+v", ref.Load()) })
		c = ref.Load()
		if c.Image != "docker.io/library/busybox:1.36" || c.ImageDigest != "sha256:"+fakeID("image") || c.Pod.Name != "web" {
			t.Errorf("after status: %+v", c)
		}
	})

	t.Run("label change", func(t *testing.T) {
		kubectl(t, lab, "-n", ns, "label", "pod", "web", "tier=front")
		waitFor(t, "new label on the bound container", func() bool { return ref.Load().Pod.Labels["tier"] == "front" },
			func() string { return fmt.Sprintf("%+v", ref.Load().Pod) })
		if c := ref.Load(); c.Name != "app" || c.Pod.Labels["app"] != "web" {
			t.Errorf("after the label change: %+v %+v", c, c.Pod)
		}
	})

	t.Run("API server away and back", func(t *testing.T) {
		before := src.Stats()
		lab.StopAPIServer()
		restarted := false
		defer func() {
			if !restarted { // the later subtests need it
				lab.StartAPIServer()
			}
		}()
		waitFor(t, "watch error counted", func() bool {
			s := src.Stats()
			return s.WatchErrors > before.WatchErrors && !s.Connected
		}, func() string { return fmt.Sprintf("%+v", src.Stats()) })
		// what is known still fills a new container of the pod
		var c event.Container
		src.Fill(container.Identity{ID: fakeID("web/sidecar"), PodUID: uid}, &c)
		if c.Pod == nil || c.Pod.Name != "web" {
			t.Errorf("during the outage: %+v", c.Pod)
		}
		lab.StartAPIServer()
		restarted = true
		kubectl(t, lab, "-n", ns, "label", "pod", "web", "tier=back", "--overwrite")
		waitFor(t, "label change after the outage", func() bool { return ref.Load().Pod.Labels["tier"] == "back" },
			func() string { return fmt.Sprintf("%+v %+v", ref.Load().Pod, src.Stats()) })
		after := src.Stats()
		if !after.Connected || after.WatchRestarts <= before.WatchRestarts || after.LastOK.Before(before.LastOK) {
			t.Errorf("after the outage: %+v (before %+v)", after, before)
		}
		t.Logf("outage: %d watch errors, %d watches opened", after.WatchErrors-before.WatchErrors, after.WatchRestarts-before.WatchRestarts)
	})

	t.Run("deletion, retention, drop", func(t *testing.T) {
		kubectl(t, lab, "-n", ns, "delete", "pod", "web", "--grace-period=0", "--force")
		waitFor(t, "pod retained", func() bool { s := src.Stats(); return s.Retained == 1 && s.Pods == 0 },
			func() string { return fmt.Sprintf("%+v", src.Stats()) })
		var c event.Container
		src.Fill(container.Identity{ID: fakeID("web/late"), PodUID: uid}, &c)
		if c.Pod == nil || c.Pod.Name != "web" {
			t.Errorf("deleted pod not resolvable for late events: %+v", c.Pod)
		}
		if ref.Load().Pod.Name != "web" {
			t.Errorf("deletion changed the bound container: %+v", ref.Load())
		}
		waitFor(t, "pod dropped after the retention", func() bool { return src.Stats().Retained == 0 },
			func() string { return fmt.Sprintf("%+v", src.Stats()) })
		c = event.Container{}
		src.Fill(container.Identity{ID: fakeID("web/later"), PodUID: uid}, &c)
		if c.Pod != nil {
			t.Errorf("pod resolvable after the retention: %+v", c.Pod)
		}
	})

	t.Run("cap", func(t *testing.T) {
		const capNode = "vigil-kube-test-node-3"
		capped, _ := start(t, lab, capNode, kube.CRINone, func(c *kube.Config) { c.MaxPods = 2 })
		for i := range 3 {
			lab.Apply(podYAML(ns, fmt.Sprintf("capped-%d", i), capNode, nil))
		}
		waitFor(t, "eviction counted", func() bool { s := capped.Stats(); return s.Evictions == 1 && s.Pods == 2 },
			func() string { return fmt.Sprintf("%+v", capped.Stats()) })
		// a deleted pod makes room: the refused one comes in on its
		// next change, evicting the deleted one
		kubectl(t, lab, "-n", ns, "delete", "pod", "capped-0", "--grace-period=0", "--force")
		waitFor(t, "deleted pod retained", func() bool { return capped.Stats().Retained == 1 },
			func() string { return fmt.Sprintf("%+v", capped.Stats()) })
		for i := 1; i < 3; i++ {
			kubectl(t, lab, "-n", ns, "label", "pod", fmt.Sprintf("capped-%d", i), "touched=yes")
		}
		waitFor(t, "refused pod stored", func() bool { s := capped.Stats(); return s.Pods == 2 && s.Retained == 0 },
			func() string { return fmt.Sprintf("%+v", capped.Stats()) })
		if s := capped.Stats(); s.Evictions < 2 || s.Pods+s.Retained+s.Placeholders > 2 {
			t.Errorf("over the cap: %+v", s)
		}
	})
}
