package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/testenv/kubelab"
)

// TestHelmInCluster installs vigil the way a user does, inside the lab's
// real single-node cluster: the image built by tools/image (`make image`)
// imported into the node's containerd, deploy/helm/vigil installed with
// helm. It checks that the DaemonSet becomes Ready (the /readyz probe); an
// alert from a test pod reaches a webhook receiver running as a pod, in
// vigil's payload and falcosidekick's, with the pod's namespace, name,
// container and labels; a rule change in the ConfigMap (helm upgrade)
// takes effect without a restart; a helm upgrade that rolls the DaemonSet
// keeps a pod-scoped connect deny in force the whole time (a loop in the
// denied pod never connects) and the new pod adopts the pins; helm
// uninstall leaves no pins and none of the agent's programs in the kernel.
func TestHelmInCluster(t *testing.T) {
	testenv.RequirePrivileged(t)
	helm := helmBinary(t)
	lab := kubelab.Cluster(t)
	t0 := time.Now()
	run := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)
	relNS, appNS := "vh13-vigil-"+run, "vh13-app-"+run
	release := "vigil" // the DaemonSet is then "vigil" too
	h := &helmRun{t: t, bin: helm, kubeconfig: lab.Kubeconfig, home: t.TempDir(), ns: relNS, release: release}

	buildVigilImage(t, lab, "vigil:e2e-"+run)
	buildReceiverImage(t, lab, "docker.io/library/vh13-receiver:"+run)
	t.Logf("images built and imported at %.0f s", time.Since(t0).Seconds())
	for _, ns := range []string{relNS, appNS} {
		if _, err := lab.Kubectl("create", "namespace", ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = lab.Kubectl("delete", "namespace", ns, "--wait=false") })
	}
	lab.Apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: receiver, namespace: %s, labels: {app: receiver}}
spec:
  automountServiceAccountToken: false
  containers:
  - name: receiver
    image: docker.io/library/vh13-receiver:%s
    imagePullPolicy: Never
    command: ["/receiver", "-addr", ":8080"]
`, appNS, run))
	lab.WaitPod(appNS, "receiver")
	recvIP := kubectlOut(t, lab, "-n", appNS, "get", "pod", "receiver", "-o", "jsonpath={.status.podIP}")
	recv := &receiverLog{lab: lab, ns: appNS}

	// the agent's pins in a directory of the test's own (.ci/run clears
	// vigil-test-* left by a killed run), and /var/lib/vigil as it was
	pinDir := testenv.PinDir(t)
	if _, err := os.Stat("/var/lib/vigil"); errors.Is(err, os.ErrNotExist) {
		t.Cleanup(func() { _ = os.Remove("/var/lib/vigil") }) // the kubelet makes it; only if empty
	}
	markA, markB := "vh13-a-"+run, "vh13-b-"+run
	vals := chartValues{tag: "e2e-" + run, cri: lab.CRISocket, port: freePort(t), recv: "http://" + net.JoinHostPort(recvIP, "8080"),
		pinDir: pinDir, appNS: appNS, rules: map[string]string{"marker.yaml": markerRule("vh13_marker_a", markA)}}
	h.helm("install", release, "../../deploy/helm/vigil", "-f", vals.write(t))
	t.Cleanup(func() { _, _ = h.try("uninstall", release, "--wait", "--timeout", "2m") })
	agentUID := waitDaemonSet(t, lab, relNS, release, "")
	t.Logf("DaemonSet Ready at %.0f s", time.Since(t0).Seconds())

	loop := fmt.Sprintf("while :; do /bin/true %s; /bin/true %s; sleep 1; done", markA, markB)
	lab.Apply(podManifest(appNS, "marker", lab.BusyboxImage, map[string]string{"app": "marker", "team": "vh13"}, loop))
	dialer := func(name string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %[2]s, namespace: %[1]s, labels: {app: %[2]s}}
spec:
  automountServiceAccountToken: false
  containers:
  - name: main
    image: docker.io/library/vh13-receiver:%[3]s
    imagePullPolicy: Never
    command: ["/receiver", "-dial", %[4]q]
`, appNS, name, run, net.JoinHostPort(recvIP, "8080"))
	}
	lab.Apply(dialer("dialer"))
	lab.Apply(dialer("control"))
	for _, p := range []string{"marker", "dialer", "control"} {
		lab.WaitPod(appNS, p)
	}

	t.Run("an alert reaches the in-cluster receiver with the pod", func(t *testing.T) {
		a := recv.waitVigil(t, "vh13_marker_a", 0)
		c := a.Event.Process.Container
		if c == nil {
			t.Fatalf("alert without a container: %+v", a.Event.Process)
		}
		if c.Name != "main" || c.Pod == nil || c.Pod.Namespace != appNS || c.Pod.Name != "marker" ||
			c.Pod.Labels["team"] != "vh13" || c.Pod.Labels["app"] != "marker" {
			t.Errorf("alert's container %+v, pod %+v: want container main of %s/marker with its labels", c, c.Pod, appNS)
		}
		f := recv.waitFalco(t, "vh13_marker_a")
		if f["k8s.ns.name"] != appNS || f["k8s.pod.name"] != "marker" || f["container.name"] != "main" {
			t.Errorf("falco payload's output_fields %v: want k8s.ns.name %s, k8s.pod.name marker, container.name main", f, appNS)
		}
	})

	t.Run("a pod-scoped connect deny is in force", func(t *testing.T) {
		waitLog(t, lab, appNS, "control", " OK")
		waitLog(t, lab, appNS, "dialer", "not permitted")
	})

	t.Run("a rule change in the ConfigMap applies without a restart", func(t *testing.T) {
		vals.rules = map[string]string{"marker.yaml": markerRule("vh13_marker_b", markB)}
		h.helm("upgrade", release, "../../deploy/helm/vigil", "-f", vals.write(t))
		recv.waitVigil(t, "vh13_marker_b", 0)
		uid, restarts := agentPod(t, lab, relNS, release)
		if uid != agentUID || restarts != "0" {
			t.Errorf("agent pod %s with %s restarts after the rule change; want %s, 0", uid, restarts, agentUID)
		}
		t.Logf("rule change applied at %.0f s", time.Since(t0).Seconds())
	})

	t.Run("a rolling update keeps the deny in force", func(t *testing.T) {
		before := len(logLines(t, lab, appNS, "dialer"))
		oldLog := followAgent(t, lab, relNS, release)
		vals.annotation = "roll-" + run
		h.helm("upgrade", release, "../../deploy/helm/vigil", "-f", vals.write(t))
		newUID := waitDaemonSet(t, lab, relNS, release, agentUID)
		// tries after the new pod is Ready, so the window spans it all
		waitLogCount(t, lab, appNS, "dialer", len(logLines(t, lab, appNS, "dialer"))+5)
		lines := logLines(t, lab, appNS, "dialer")[before:]
		for _, l := range lines {
			if !strings.Contains(l, "not permitted") {
				t.Errorf("during the rolling update the denied pod got %q; want every connect refused", l)
			}
		}
		logs := kubectlOut(t, lab, "-n", relNS, "logs", "-l", "app.kubernetes.io/instance="+release, "--tail=-1")
		if !strings.Contains(logs, "adopted pinned enforcement") || !strings.Contains(logs, "vh13-no-dial") {
			t.Errorf("the new agent pod (%s) did not log that it adopted vh13-no-dial:\n%s", newUID, logs)
		}
		if l := oldLog(); !strings.Contains(l, "pinned enforcement kept for the next agent") {
			t.Errorf("the replaced agent did not say it kept the pins:\n%s", tail(l, 15))
		}
		agentUID = newUID
		t.Logf("%d connects tried across the rollout, all refused; rollout done at %.0f s", len(lines), time.Since(t0).Seconds())
	})

	t.Run("helm uninstall leaves no pins and no programs", func(t *testing.T) {
		progs := agentPrograms(t, lab, relNS, release, pinDir)
		if len(progs) == 0 {
			t.Fatal("found none of the agent's programs before uninstall")
		}
		lastLog := followAgent(t, lab, relNS, release)
		h.helm("uninstall", release, "--wait", "--timeout", "2m")
		poll(t, "the agent pod gone", func() bool {
			out, err := lab.Kubectl("-n", relNS, "get", "pods", "-o", "name")
			return err == nil && strings.TrimSpace(out) == ""
		})
		if _, err := os.Stat(pinDir); !errors.Is(err, os.ErrNotExist) {
			entries, _ := os.ReadDir(pinDir)
			t.Errorf("pin directory %s still there after uninstall (%v): %d entries", pinDir, err, len(entries))
		}
		var left []ebpf.ProgramID
		for _, id := range progs {
			p, err := ebpf.NewProgramFromID(id)
			if err == nil {
				p.Close()
				left = append(left, id)
			}
		}
		if len(left) > 0 {
			t.Errorf("%d of the agent's %d programs still in the kernel after uninstall: ids %v", len(left), len(progs), left)
		}
		if l := lastLog(); !strings.Contains(l, "pinned enforcement removed: the agent is uninstalled") {
			t.Errorf("the uninstalled agent did not say it removed the pins:\n%s", tail(l, 15))
		}
		// and the deny is lifted with them
		waitLog(t, lab, appNS, "dialer", " OK")
		t.Logf("%d programs gone, pins gone; uninstall done at %.0f s", len(progs), time.Since(t0).Seconds())
	})

	// the chart's least-privilege mode: capabilities, no privileged flag,
	// bpffs mounted HostToContainer (the node has it, shared)
	t.Run("privileged: false works on this kernel", func(t *testing.T) {
		seen := len(recv.posts(t, "/vigil"))
		vals.annotation, vals.unprivileged = "", true
		h.helm("install", release, "../../deploy/helm/vigil", "-f", vals.write(t))
		waitDaemonSet(t, lab, relNS, release, "")
		sc := kubectlOut(t, lab, "-n", relNS, "get", "pods", "-l", "app.kubernetes.io/instance="+release, "-o",
			"jsonpath={.items[0].spec.containers[0].securityContext}")
		if strings.Contains(sc, `"privileged":true`) || !strings.Contains(sc, "BPF") {
			t.Fatalf("agent's security context %s: want capabilities, not privileged", sc)
		}
		recv.waitVigil(t, "vh13_marker_b", seen)
		n := len(logLines(t, lab, appNS, "dialer"))
		waitLogCount(t, lab, appNS, "dialer", n+5)
		for _, l := range logLines(t, lab, appNS, "dialer")[n:] {
			if !strings.Contains(l, "not permitted") {
				t.Errorf("with privileged: false the denied pod got %q; want every connect refused", l)
			}
		}
		lastLog := followAgent(t, lab, relNS, release)
		h.helm("uninstall", release, "--wait", "--timeout", "2m")
		if l := lastLog(); !strings.Contains(l, "pinned enforcement removed: the agent is uninstalled") {
			t.Errorf("the uninstalled agent did not say it removed the pins:\n%s", tail(l, 15))
		}
		if _, err := os.Stat(pinDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("pin directory %s still there after uninstall (%v)", pinDir, err)
		}
		t.Logf("privileged: false installed, alerted, denied and uninstalled at %.0f s", time.Since(t0).Seconds())
	})
	t.Logf("in-cluster test took %.0f s (lab start not counted)", time.Since(t0).Seconds())
}
