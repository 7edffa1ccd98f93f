package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/testenv/kubelab"
)

// TestKubernetesEndToEnd runs the built agent on a real single-node
// cluster (etcd, kube-apiserver, kubelet, containerd: internal/testenv/
// kubelab) and checks what a cluster operator relies on: a new pod's
// first exec carries its names; a label change shows on later events;
// the API server going away leaves events flowing with what is known and
// the watch recovers; a deleted pod's late events keep its names; a
// namespace-scoped policy stops a binary in its namespace and nowhere
// else, for pods started after it was applied.
func TestKubernetesEndToEnd(t *testing.T) {
	testenv.RequirePrivileged(t)
	lab := kubelab.Cluster(t)
	bin := buildVigil(t)
	dir := t.TempDir()
	run := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)
	nsA, nsD := "vigil-e2e-a-"+run, "vigil-e2e-d-"+run
	for _, ns := range []string{nsA, nsD} {
		if _, err := lab.Kubectl("create", "namespace", ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = lab.Kubectl("delete", "namespace", ns, "--wait=false") })
	}

	// the image's busybox is the host's (kubelab copies it): deny it by
	// content in one namespace only
	sum := fileSHA256(t, "/bin/busybox")
	policy := filepath.Join(dir, "policy.yaml")
	writeFile(t, policy, fmt.Sprintf(`policy: e2e-no-busybox-%s
mode: enforce
scope:
  namespace: %s
exec:
  deny:
    - sha256: %s
      name: busybox
`, run, nsD, sum))

	out := filepath.Join(dir, "events.json")
	var stderr syncBuffer
	agent := exec.Command(bin, runArgs(t, "--format", "json", "--events", "all", "--output", out,
		"--kubeconfig", lab.AgentKubeconfig, "--node", lab.NodeName, "--cri-socket", lab.CRISocket,
		"--policy", policy)...)
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = agent.Process.Kill()
			_ = agent.Wait()
		}
	})
	waitFor(t, "agent start", func() bool { return strings.Contains(stderr.String(), "msg=started") })
	feed := &podFeed{path: out}

	// a pod that reads a watched file in a loop, and once more when told
	// to stop, so that it has events before, during and after each step
	loop := `trap 'cat /etc/shadow >/dev/null; exit 0' TERM; while :; do cat /etc/shadow >/dev/null; sleep 0.3; done`
	lab.Apply(podManifest(nsA, "meta", lab.BusyboxImage, map[string]string{"app": "meta", "tier": "one"}, loop))
	lab.WaitPod(nsA, "meta")
	cid := lab.PodContainerID(nsA, "meta", "main")

	t.Run("first exec carries the pod", func(t *testing.T) {
		execs := feed.waitFor(t, "the pod's first exec", func(ev *event.Event) bool {
			return ev.Kind == event.KindProcessExec && containerID(ev) == cid
		})
		c := execs.Process.Container
		if c.Name != "main" || c.Image == "" || c.Pod == nil || c.Pod.Name != "meta" || c.Pod.Namespace != nsA ||
			c.Pod.Labels["app"] != "meta" || c.Runtime != "containerd" {
			t.Errorf("first exec's container %+v, pod %+v: want name, image and pod", c, c.Pod)
		}
		all, named := feed.count(func(ev *event.Event) bool { return containerID(ev) == cid },
			func(ev *event.Event) bool { p := ev.Process.Container.Pod; return p != nil && p.Name == "meta" })
		if all == 0 || named != all {
			t.Errorf("%d of the pod's %d events so far carry its name: want every one", named, all)
		}
		t.Logf("%d of the pod's %d events carry its name", named, all)
	})

	t.Run("a label change shows on later events", func(t *testing.T) {
		if _, err := lab.Kubectl("-n", nsA, "label", "pod", "meta", "tier=two", "--overwrite"); err != nil {
			t.Fatal(err)
		}
		feed.waitFor(t, "an event with the new label", func(ev *event.Event) bool {
			return containerID(ev) == cid && podLabel(ev, "tier") == "two"
		})
	})

	t.Run("the API server goes away and comes back", func(t *testing.T) {
		lab.StopAPIServer()
		mark := time.Now() // events after this happened with the API server away
		waitFor(t, "the agent to lose its pod watch", func() bool {
			return strings.Contains(stderr.String(), "pod watch lost")
		})
		feed.waitFor(t, "an event of the pod while the API server is away", func(ev *event.Event) bool {
			p := ev.Process.Container.Pod
			return containerID(ev) == cid && ev.Time.After(mark) && p != nil && p.Name == "meta"
		})
		lab.StartAPIServer()
		waitFor(t, "the API server back", func() bool {
			_, err := lab.Kubectl("-n", nsA, "label", "pod", "meta", "tier=three", "--overwrite")
			return err == nil
		})
		feed.waitFor(t, "an event with the label set after the API server came back", func(ev *event.Event) bool {
			return containerID(ev) == cid && podLabel(ev, "tier") == "three"
		})
	})

	t.Run("a deleted pod's late events keep its names", func(t *testing.T) {
		if _, err := lab.Kubectl("-n", nsA, "delete", "pod", "meta", "--wait=true", "--grace-period=30"); err != nil {
			t.Fatal(err)
		}
		// the shell exits only from its TERM trap: after the deletion
		exit := feed.waitFor(t, "the pod's shell exiting", func(ev *event.Event) bool {
			return ev.Kind == event.KindProcessExit && containerID(ev) == cid && slices.Contains(ev.Process.Args, loop)
		})
		if p := exit.Process.Container.Pod; p == nil || p.Name != "meta" || p.Namespace != nsA {
			t.Errorf("the exit after deletion carries pod %+v", p)
		}
	})

	t.Run("a namespace-scoped deny", func(t *testing.T) {
		once := "exit 0"
		lab.Apply(podManifestOnce(nsD, "denied", lab.BusyboxImage, once))
		lab.Apply(podManifestOnce(nsA, "allowed", lab.BusyboxImage, once))
		want := map[string]int{nsD: 137, nsA: 0} // SIGKILL before the first instruction, or ran
		for ns, code := range want {
			name := map[bool]string{true: "denied", false: "allowed"}[ns == nsD]
			got := waitTerminated(t, lab, ns, name)
			if got != code {
				t.Errorf("pod %s/%s ended with %d, want %d", ns, name, got, code)
			}
		}
		feed.waitForAlert(t, "the kill in the denied namespace", func(a *event.Alert) bool {
			p := a.Event.Process.Container.Pod
			return p != nil && p.Namespace == nsD && p.Name == "denied" && a.Action == event.ActionKilled
		})
	})

	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(); err != nil {
		t.Errorf("agent exited with %v; stderr:\n%s", err, stderr.String())
	}
	stopped = true
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:])
}

// podLabel is a label of the event's pod, "" without one.
func podLabel(ev *event.Event, key string) string {
	if p := ev.Process.Container.Pod; p != nil {
		return p.Labels[key]
	}
	return ""
}

func containerID(ev *event.Event) string {
	if ev.Process == nil || ev.Process.Container == nil {
		return ""
	}
	return ev.Process.Container.ID
}

func podManifest(ns, name, image string, labels map[string]string, script string) string {
	var l strings.Builder
	for k, v := range labels {
		fmt.Fprintf(&l, "    %s: %q\n", k, v)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels:
%sspec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 30
  automountServiceAccountToken: false
  containers:
  - name: main
    image: %s
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", %q]
`, name, ns, l.String(), image, script)
}

func podManifestOnce(ns, name, image, script string) string {
	return podManifest(ns, name, image, map[string]string{"app": name}, script)
}

// waitTerminated waits for the pod's container to end and returns its
// exit code.
func waitTerminated(t *testing.T, lab *kubelab.Lab, ns, name string) int {
	t.Helper()
	code := -1
	waitFor(t, "pod "+ns+"/"+name+" to end", func() bool {
		out, err := lab.Kubectl("-n", ns, "get", "pod", name, "-o",
			"jsonpath={.status.containerStatuses[0].state.terminated.exitCode}")
		if err != nil || strings.TrimSpace(out) == "" {
			return false
		}
		_, err = fmt.Sscan(out, &code)
		return err == nil
	})
	return code
}

// podFeed reads the agent's JSON output as it grows, keeping the events
// and alerts of pods' processes (the rest of the host's are skipped).
type podFeed struct {
	path   string
	mu     sync.Mutex
	off    int64
	events []*event.Event
	alerts []*event.Alert
}

func (f *podFeed) read(t *testing.T) {
	t.Helper()
	file, err := os.Open(f.path)
	if err != nil {
		return
	}
	defer file.Close()
	if _, err := file.Seek(f.off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReaderSize(file, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return // a line still being written waits for the next read
		}
		f.off += int64(len(line))
		if !bytes.Contains(line, []byte(`"pod":`)) {
			continue
		}
		if bytes.Contains(line, []byte(`"kind":"alert"`)) {
			a := new(event.Alert)
			if json.Unmarshal(line, a) == nil && a.Event != nil && a.Event.Process != nil && a.Event.Process.Container != nil {
				f.alerts = append(f.alerts, a)
			}
			continue
		}
		ev := new(event.Event)
		if err := json.Unmarshal(line, ev); err != nil {
			t.Fatalf("not a JSON event: %v: %s", err, line)
		}
		if ev.Process != nil && ev.Process.Container != nil {
			f.events = append(f.events, ev)
		}
	}
}

func (f *podFeed) waitFor(t *testing.T, what string, match func(*event.Event) bool) *event.Event {
	t.Helper()
	var found *event.Event
	waitFor(t, what, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.read(t)
		for _, ev := range f.events {
			if match(ev) {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

func (f *podFeed) waitForAlert(t *testing.T, what string, match func(*event.Alert) bool) *event.Alert {
	t.Helper()
	var found *event.Alert
	waitFor(t, what, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.read(t)
		for _, a := range f.alerts {
			if match(a) {
				found = a
				return true
			}
		}
		return false
	})
	return found
}

// count returns how many events read so far match which, and how many of
// those also match also.
func (f *podFeed) count(which, also func(*event.Event) bool) (n, both int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range f.events {
		if which(ev) {
			n++
			if also(ev) {
				both++
			}
		}
	}
	return n, both
}
