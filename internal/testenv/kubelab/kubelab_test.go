package kubelab

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestAPIServer(t *testing.T) {
	lab := APIServer(t)
	pids := labPIDs(t, lab)
	for _, n := range []string{"etcd", "apiserver"} {
		if pids[n] == 0 {
			t.Fatalf("no %s running: %v", n, pids)
		}
	}

	lab.Apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: kept, namespace: default}
data: {k: v}
`)
	// the agent's identity reads pods but writes nothing
	if _, err := lab.KubectlAs(lab.AgentKubeconfig, "get", "pods", "-A"); err != nil {
		t.Fatalf("the agent cannot list pods: %v", err)
	}
	if out, _ := lab.KubectlAs(lab.AgentKubeconfig, "auth", "can-i", "create", "pods"); strings.TrimSpace(out) != "no" {
		t.Fatalf("the agent can create pods: %q", out)
	}

	lab.StopAPIServer()
	if _, err := lab.Kubectl("get", "configmap", "kept"); err == nil {
		t.Fatal("kubectl works with the API server stopped")
	}
	if !alive(pids["etcd"]) {
		t.Fatal("etcd stopped with the API server")
	}
	lab.StartAPIServer()
	out, err := lab.Kubectl("get", "configmap", "kept", "-o", "jsonpath={.data.k}")
	if err != nil || out != "v" {
		t.Fatalf("the config map after a restart: %q, %v", out, err)
	}

	lab.Stop()
	unlock := relock(t, lab.StateDir)
	defer unlock()
	assertNothingLeft(t, lab, pids)
}

func TestCluster(t *testing.T) {
	// the host as no lab left it: read holding the lab lock
	_, env, err := locate()
	if err != nil {
		t.Fatal(err)
	}
	if reason := missing(env, ClusterMode); reason != "" {
		testenv.Unavailable(t, reason)
	}
	unlock := relock(t, env["VIGIL_K8S_STATE"])
	before := sysctls(t)
	bpffsBefore := bpffsPropagation(t)
	// the fixed paths outside the state dir that the kubelet, containerd
	// and kubectl write to
	outside := []string{"/var/lib/kubelet", "/var/log/containers", "/run/containerd", "/var/lib/cni", os.Getenv("HOME") + "/.kube"}
	existed := map[string]bool{}
	for _, d := range outside {
		_, err := os.Stat(d)
		existed[d] = err == nil
	}
	unlock()
	lab := Cluster(t)
	pids := labPIDs(t, lab)
	if p := bpffsPropagation(t); p != "shared" {
		t.Errorf("/sys/fs/bpf is %s while the lab runs; want shared (Bidirectional mounts need it)", p)
	}
	if lab.CRISocket == "" || lab.NodeName == "" || lab.BusyboxImage == "" {
		t.Fatalf("lab: %+v", *lab)
	}
	if st, err := os.Stat(lab.CRISocket); err != nil || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("CRI socket %s: %v", lab.CRISocket, err)
	}
	if imgs := lab.Images(); len(imgs) == 0 || imgs[0] != lab.BusyboxImage {
		t.Fatalf("Images() = %v", imgs)
	}

	lab.Apply(`apiVersion: v1
kind: Pod
metadata:
  name: smoke
  namespace: default
  labels: {app: smoke, tier: before}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ` + lab.BusyboxImage + `
    imagePullPolicy: Never
    command: [sleep, "3600"]
`)
	uid := lab.WaitPod("default", "smoke")
	id := lab.PodContainerID("default", "smoke", "c")
	pid := lab.ContainerPID(id)
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(string(raw), "\n") {
		// cgroupfs driver: .../kubepods/besteffort/pod<uid>/<container id>
		if strings.Contains(line, "pod"+uid) && strings.HasSuffix(line, "/"+id) {
			found = true
		}
	}
	if !found {
		t.Fatalf("pid %d of container %s (pod %s): no cgroup path with both:\n%s", pid, id, uid, raw)
	}
	comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if strings.TrimSpace(string(comm)) != "sleep" {
		t.Fatalf("container pid %d runs %q, want sleep", pid, comm)
	}

	if _, err := lab.Kubectl("-n", "default", "label", "pod", "smoke", "tier=after", "--overwrite"); err != nil {
		t.Fatal(err)
	}
	out, err := lab.KubectlAs(lab.AgentKubeconfig, "-n", "default", "get", "pod", "smoke", "-o", "jsonpath={.metadata.labels.tier}")
	if err != nil || out != "after" {
		t.Fatalf("label seen by the agent: %q, %v", out, err)
	}

	lab.DeletePod("default", "smoke")
	waitFor(t, "the container's process to end", func() bool { return !inCgroup(pid, id) })

	lab.StopAPIServer()
	if _, err := lab.Kubectl("get", "nodes"); err == nil {
		t.Fatal("kubectl works with the API server stopped")
	}
	lab.StartAPIServer()
	waitFor(t, "the node to be Ready again", func() bool {
		out, err := lab.Kubectl("get", "node", lab.NodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return err == nil && out == "True"
	})

	lab.Stop()
	unlock = relock(t, lab.StateDir)
	defer unlock()
	assertNothingLeft(t, lab, pids)
	if after := sysctls(t); after != before {
		t.Errorf("sysctls changed:\nbefore %s\nafter  %s", before, after)
	}
	if after := bpffsPropagation(t); bpffsBefore != "absent" && after != bpffsBefore {
		t.Errorf("/sys/fs/bpf was %s before the lab and is %s after", bpffsBefore, after)
	}
	for _, d := range outside {
		if _, err := os.Stat(d); err == nil && !existed[d] {
			t.Errorf("%s is left behind", d)
		}
	}
	if _, err := net.InterfaceByName("vigilk8s0"); err == nil {
		t.Error("the CNI bridge vigilk8s0 is still there")
	}
	for _, d := range []string{"/sys/fs/cgroup/memory/kubepods", "/sys/fs/cgroup/pids/kubepods", "/sys/fs/cgroup/unified/kubepods", "/sys/fs/cgroup/kubepods"} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s is still there", d)
		}
	}
}

// labPIDs reads the pids the scripts recorded for the running lab.
func labPIDs(t *testing.T, lab *Lab) map[string]int {
	t.Helper()
	pids := map[string]int{}
	matches, _ := filepath.Glob(filepath.Join(lab.StateDir, "run", "*.pid"))
	for _, m := range matches {
		raw, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		pids[strings.TrimSuffix(filepath.Base(m), ".pid")] = pid
	}
	return pids
}

// relock takes the lab lock, waiting for any lab another test binary
// started meanwhile (which proves that ours released it), so that the
// host's state can be checked with no lab running.
func relock(t *testing.T, state string) (unlock func()) {
	t.Helper()
	f, err := acquire(t, filepath.Join(state, "lock"))
	if err != nil {
		t.Fatal(err)
	}
	return func() { f.Close() }
}

// assertNothingLeft checks, holding the lab lock, that a stopped lab left
// no process and no mount.
func assertNothingLeft(t *testing.T, lab *Lab, pids map[string]int) {
	t.Helper()
	for n, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) still runs", n, pid)
		}
	}
	if w := lab.c.watchdog; w.ProcessState == nil {
		t.Errorf("the watchdog (pid %d) was not reaped", w.Process.Pid)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		exe, _ := os.Readlink(p + "/exe")
		cmdline, _ := os.ReadFile(p + "/cmdline")
		if strings.HasPrefix(exe, lab.BinDir+"/") ||
			(lab.CRISocket != "" && strings.Contains(string(cmdline), lab.CRISocket)) {
			if pid, _ := strconv.Atoi(filepath.Base(p)); alive(pid) {
				t.Errorf("a lab process still runs: pid %d %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " "))
			}
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], lab.StateDir+"/") {
			t.Errorf("still mounted: %s", f[4])
		}
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z' && s[i+2] != 'X'
}

func inCgroup(pid int, id string) bool {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	return err == nil && alive(pid) && strings.Contains(string(raw), id)
}

func sysctls(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, k := range []string{"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
		"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes", "net/ipv4/ip_forward"} {
		raw, err := os.ReadFile("/proc/sys/" + k)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(k + "=" + strings.TrimSpace(string(raw)) + " ")
	}
	return b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", testenv.WaitLimit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestParseEnv(t *testing.T) {
	env := parseEnv([]byte("A=1\nB=x=y\nnoise\nexport C=\n"))
	if env["A"] != "1" || env["B"] != "x=y" || env["C"] != "" || len(env) != 3 {
		t.Fatalf("parseEnv: %v", env)
	}
}

// bpffsPropagation is "shared" or "private" for the mount at /sys/fs/bpf,
// "absent" without one.
func bpffsPropagation(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	prop := "absent"
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || f[4] != "/sys/fs/bpf" {
			continue
		}
		prop = "private" // the last mount there is the one seen
		for _, opt := range f[6:] {
			if opt == "-" {
				break
			}
			if strings.HasPrefix(opt, "shared:") {
				prop = "shared"
			}
		}
	}
	return prop
}
