package kubelab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// kubectlLimit bounds one kubectl call; its own --request-timeout is
// shorter, so a server that is away makes it fail, not hang.
const kubectlLimit = time.Minute

// Kubectl runs kubectl as the admin and returns its standard output; the
// error carries its standard error.
func (l *Lab) Kubectl(args ...string) (string, error) {
	return l.KubectlAs(l.Kubeconfig, args...)
}

// KubectlAs runs kubectl with another kubeconfig (AgentKubeconfig, say).
func (l *Lab) KubectlAs(kubeconfig string, args ...string) (string, error) {
	return l.kubectl(kubeconfig, "", args...)
}

func (l *Lab) kubectl(kubeconfig, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kubectlLimit)
	defer cancel()
	full := append([]string{"--kubeconfig", kubeconfig, "--request-timeout", "30s"}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(l.BinDir, "kubectl"), full...)
	// its discovery cache in the lab, not in ~/.kube
	cmd.Env = append(os.Environ(), "KUBECACHEDIR="+filepath.Join(l.StateDir, "kubectl-cache"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Apply applies a YAML manifest as the admin, failing the test on error.
func (l *Lab) Apply(yaml string) {
	l.tb.Helper()
	if _, err := l.kubectl(l.Kubeconfig, yaml, "apply", "-f", "-"); err != nil {
		l.tb.Fatal(err)
	}
}

// WaitPod waits until the pod runs (phase Running) and returns its UID. It
// fails the test as soon as the pod cannot run (phase Failed or Succeeded,
// a container waiting for a reason that does not pass by itself) or after
// testenv.WaitLimit.
func (l *Lab) WaitPod(ns, name string) string {
	l.tb.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	var last string
	for {
		out, err := l.Kubectl("-n", ns, "get", "pod", name, "-o",
			`jsonpath={.metadata.uid} {.status.phase} {range .status.containerStatuses[*]}{.state.waiting.reason} {end}`)
		if err == nil {
			f := strings.Fields(out)
			if len(f) >= 2 {
				switch f[1] {
				case "Running":
					return f[0]
				case "Failed", "Succeeded":
					l.tb.Fatalf("pod %s/%s ended: %s", ns, name, l.describe(ns, name))
				}
				for _, reason := range f[2:] {
					switch reason {
					case "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "CreateContainerError",
						"CreateContainerConfigError", "InvalidImageName", "CrashLoopBackOff":
						l.tb.Fatalf("pod %s/%s cannot run (%s): %s", ns, name, reason, l.describe(ns, name))
					}
				}
			}
			last = out
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			l.tb.Fatalf("pod %s/%s not Running after %v (last: %s): %s", ns, name, testenv.WaitLimit, last, l.describe(ns, name))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (l *Lab) describe(ns, name string) string {
	out, err := l.Kubectl("-n", ns, "describe", "pod", name)
	if err != nil {
		return err.Error()
	}
	return out
}

// PodContainerID returns the containerd id of one of the pod's containers
// (without the "containerd://" scheme).
func (l *Lab) PodContainerID(ns, name, container string) string {
	l.tb.Helper()
	out, err := l.Kubectl("-n", ns, "get", "pod", name, "-o",
		fmt.Sprintf(`jsonpath={.status.containerStatuses[?(@.name==%q)].containerID}`, container))
	if err != nil {
		l.tb.Fatal(err)
	}
	_, id, ok := strings.Cut(strings.TrimSpace(out), "://")
	if !ok || id == "" {
		l.tb.Fatalf("pod %s/%s has no container %q with an id (got %q)", ns, name, container, out)
	}
	return id
}

// ContainerPID returns the host pid of a container's first process, as
// containerd knows it.
func (l *Lab) ContainerPID(containerID string) int {
	l.tb.Helper()
	if l.CRISocket == "" {
		l.tb.Fatal("kubelab: ContainerPID needs a Cluster lab")
	}
	ctx, cancel := context.WithTimeout(context.Background(), kubectlLimit)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ctr", "--address", l.CRISocket, "-n", "k8s.io", "task", "ls").CombinedOutput()
	if err != nil {
		l.tb.Fatalf("ctr task ls: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == containerID {
			pid, err := strconv.Atoi(f[1])
			if err != nil || pid <= 0 {
				l.tb.Fatalf("container %s: task line %q", containerID, line)
			}
			return pid
		}
	}
	l.tb.Fatalf("container %s has no task:\n%s", containerID, out)
	return 0
}

// DeletePod deletes a pod (one second's grace) and waits until it is gone,
// at most testenv.WaitLimit.
func (l *Lab) DeletePod(ns, name string) {
	l.tb.Helper()
	if _, err := l.Kubectl("-n", ns, "delete", "pod", name, "--grace-period=1", "--wait=false"); err != nil {
		l.tb.Fatal(err)
	}
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		out, err := l.Kubectl("-n", ns, "get", "pod", name, "--ignore-not-found", "-o", "name")
		if err == nil && strings.TrimSpace(out) == "" {
			return
		}
		if time.Now().After(deadline) {
			l.tb.Fatalf("pod %s/%s still there after %v (%v): %s", ns, name, testenv.WaitLimit, err, l.describe(ns, name))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// StopAPIServer stops kube-apiserver (etcd and the node keep running), so a
// test can see what a client does while it is away.
func (l *Lab) StopAPIServer() {
	l.tb.Helper()
	if out, err := l.c.script(2*time.Minute, "apiserver.sh", "stop"); err != nil {
		l.tb.Fatalf("stop apiserver: %v\n%s", err, out)
	}
}

// StartAPIServer starts kube-apiserver again and waits until it is ready.
func (l *Lab) StartAPIServer() {
	l.tb.Helper()
	if out, err := l.c.script(testenv.WaitLimit+30*time.Second, "apiserver.sh", "start"); err != nil {
		l.tb.Fatalf("start apiserver: %v\n%s%s", err, out, l.c.logTails())
	}
}

// Images lists the images the node has without a registry (none reachable
// here), for pods with imagePullPolicy: Never: BusyboxImage, a static
// busybox with every applet, then the pause image of the pod sandboxes.
// Empty for an APIServer lab.
func (l *Lab) Images() []string {
	if l.Mode != ClusterMode {
		return nil
	}
	return []string{l.BusyboxImage, l.c.env["K8S_PAUSE_IMAGE"]}
}

// Stop stops the lab now, releasing the machine's lab lock; later calls
// and the test's cleanup do nothing. Under Main it is an error: the lab is
// the package's.
func (l *Lab) Stop() {
	l.tb.Helper()
	shared.mu.Lock()
	isShared := shared.c == l.c
	shared.mu.Unlock()
	if isShared {
		l.tb.Fatal("kubelab: Stop on the lab kubelab.Main shares")
	}
	if out, err := l.c.stop(); err != nil {
		l.tb.Fatalf("kubelab: stop: %v\n%s", err, out)
	}
}

// ImportImage imports an image archive (OCI layout or docker-archive, as
// `make image` writes) into the node's containerd, where pods find it
// without a registry (imagePullPolicy Never or IfNotPresent).
func (l *Lab) ImportImage(archive string) {
	l.tb.Helper()
	if l.CRISocket == "" {
		l.tb.Fatal("kubelab: ImportImage needs a Cluster lab")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ctr", "--address", l.CRISocket, "-n", "k8s.io", "image", "import", archive).CombinedOutput()
	if err != nil {
		l.tb.Fatalf("ctr image import %s: %v: %s", archive, err, out)
	}
}

// BuildImage packs the directory rootfs into a one-layer image named ref
// (scripts/k8s/mkimage.sh) whose command is cmd, and imports it.
func (l *Lab) BuildImage(rootfs, ref string, cmd ...string) {
	l.tb.Helper()
	archive := filepath.Join(l.tb.TempDir(), "image.tar")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{filepath.Join(l.c.scripts, "mkimage.sh"), rootfs, ref, archive}, cmd...)
	if out, err := exec.CommandContext(ctx, "bash", args...).CombinedOutput(); err != nil {
		l.tb.Fatalf("mkimage %s: %v: %s", ref, err, out)
	}
	l.ImportImage(archive)
}
