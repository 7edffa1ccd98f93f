package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/testenv/kubelab"
)

// helmBinary is helm as `make helm-lint` builds it (pinned, in the tools
// cache), VIGIL_HELM, or helm on PATH.
func helmBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VIGIL_HELM"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	if p := filepath.Join(home, ".cache/vigil-tools/bin/helm-v4.3.2"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	testenv.Unavailable(t, "no helm: make helm-lint builds it into ~/.cache/vigil-tools/bin (or set VIGIL_HELM)")
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

type helmRun struct {
	t                     *testing.T
	bin, kubeconfig, home string
	ns, release           string
}

func (h *helmRun) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, append([]string{"--kubeconfig", h.kubeconfig, "--namespace", h.ns}, args...)...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+h.home+"/cache", "HELM_CONFIG_HOME="+h.home+"/config",
		"HELM_DATA_HOME="+h.home+"/data", "KUBECACHEDIR="+h.home+"/kube")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (h *helmRun) helm(args ...string) {
	h.t.Helper()
	if out, err := h.try(args...); err != nil {
		h.t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// buildVigilImage builds the image as `make image` does and imports it.
func buildVigilImage(t *testing.T, lab *kubelab.Lab, tag string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "vigil-static")
	gocmd(t, ".", nil, "build", "-trimpath", "-ldflags", "-s -w -buildid=", "-o", bin, ".")
	archive := filepath.Join(dir, "vigil-image.tar")
	args := []string{"run", "./image", "-binary", bin, "-tag", tag, "-version", "e2e", "-arch", runtime.GOARCH, "-o", archive}
	if ca := "/etc/ssl/certs/ca-certificates.crt"; fileExists(ca) { // as make image
		args = append(args, "-ca-bundle", ca)
	}
	gocmd(t, "../../tools", []string{"GOFLAGS=-buildvcs=false"}, args...)
	lab.ImportImage(archive)
}

// buildReceiverImage builds internal/testenv/kubelab/receiver static into
// an image of its own.
func buildReceiverImage(t *testing.T, lab *kubelab.Lab, ref string) {
	t.Helper()
	root := t.TempDir()
	gocmd(t, ".", nil, "build", "-o", filepath.Join(root, "receiver"), "../../internal/testenv/kubelab/receiver")
	lab.BuildImage(root, ref, "/receiver")
}

func gocmd(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// chartValues are the test's values for deploy/helm/vigil.
type chartValues struct {
	tag, cri, recv, pinDir, appNS, annotation string
	port                                      int
	unprivileged                              bool
	rules                                     map[string]string
}

func (v chartValues) write(t *testing.T) string {
	t.Helper()
	doc := map[string]any{
		"image":            map[string]any{"repository": "docker.io/library/vigil", "tag": v.tag, "pullPolicy": "Never"},
		"kubernetes":       map[string]any{"criSocket": v.cri, "apiServer": map[string]any{"host": "127.0.0.1", "port": "6443"}},
		"metrics":          map[string]any{"port": v.port},
		"grafanaDashboard": map[string]any{"enabled": false},
		"outputs": map[string]any{
			"falcosidekick": map[string]any{"enabled": true, "url": v.recv + "/falco", "minSeverity": "low"},
			"extra": []any{map[string]any{"name": "vh13-webhook",
				"webhook": map[string]any{"url": v.recv + "/vigil", "payload": "vigil", "batch_size": 1}}},
		},
		"rules": map[string]any{"defaultRules": false, "files": v.rules},
		"policies": map[string]any{"files": map[string]string{"no-dial.yaml": fmt.Sprintf(`policy: vh13-no-dial
mode: enforce
scope:
  namespace: %s
  podSelector: {matchLabels: {app: dialer}}
network:
  connect:
    - ports: [8080]
      protocol: tcp
`, v.appNS)}},
		// no applied-policy store on the node; the pins in the test's dir
		"extraArgs": []string{"--pin-dir=" + v.pinDir, "--state-dir="},
	}
	if v.unprivileged {
		doc["privileged"] = false
	}
	if v.annotation != "" {
		doc["podAnnotations"] = map[string]string{"vh13/roll": v.annotation}
	}
	raw, err := json.Marshal(doc) // JSON is YAML
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "values.yaml")
	writeFile(t, p, string(raw))
	return p
}

func markerRule(name, marker string) string {
	return fmt.Sprintf("- rule: %s\n  description: the in-cluster test's marker\n  condition: kind == \"process_exec\" && process.args.exists(a, a == %q)\n  severity: medium\n  tags: [T1059]\n", name, marker)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func kubectlOut(t *testing.T, lab *kubelab.Lab, args ...string) string {
	t.Helper()
	out, err := lab.Kubectl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// poll checks cond every half second for at most 3 minutes (a noisy
// machine loads the agent's programs slowly).
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// agentPod is the DaemonSet's one pod: its uid and restart count.
func agentPod(t *testing.T, lab *kubelab.Lab, ns, release string) (uid, restarts string) {
	t.Helper()
	out := kubectlOut(t, lab, "-n", ns, "get", "pods", "-l", "app.kubernetes.io/instance="+release, "-o",
		`jsonpath={range .items[*]}{.metadata.uid} {.status.containerStatuses[0].restartCount}{"\n"}{end}`)
	f := strings.Fields(out)
	if len(f) != 2 {
		t.Fatalf("want one agent pod, got %q", out)
	}
	return f[0], f[1]
}

// waitDaemonSet waits until the DaemonSet's one pod is current and Ready,
// and is not the pod old; it returns the pod's uid.
func waitDaemonSet(t *testing.T, lab *kubelab.Lab, ns, name, old string) string {
	t.Helper()
	var uid, last string
	defer func() {
		if uid == "" { // poll failed the test: say why
			describe, _ := lab.Kubectl("-n", ns, "describe", "pods")
			logs, _ := lab.Kubectl("-n", ns, "logs", "-l", "app.kubernetes.io/instance="+name, "--tail=60")
			t.Logf("DaemonSet %s/%s: %s\n%s\nlogs:\n%s", ns, name, last, describe, logs)
		}
	}()
	poll(t, "DaemonSet "+ns+"/"+name+" Ready", func() bool {
		out, err := lab.Kubectl("-n", ns, "get", "ds", name, "-o",
			"jsonpath={.metadata.generation} {.status.observedGeneration} {.status.desiredNumberScheduled} {.status.updatedNumberScheduled} {.status.numberReady} {.status.numberAvailable}")
		if err != nil {
			last = err.Error()
			return false
		}
		last = out
		f := strings.Fields(out)
		if len(f) != 6 || f[0] != f[1] || f[2] != "1" || f[3] != "1" || f[4] != "1" || f[5] != "1" {
			return false
		}
		pods, err := lab.Kubectl("-n", ns, "get", "pods", "-l", "app.kubernetes.io/instance="+name, "-o",
			`jsonpath={range .items[*]}{.metadata.uid} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		p := strings.Fields(pods)
		if err != nil || len(p) != 2 || p[1] != "True" || p[0] == old {
			last += " pods: " + pods
			return false
		}
		uid = p[0]
		return true
	})
	if uid == "" {
		t.Fatalf("DaemonSet not ready: %s", last)
	}
	return uid
}

func logLines(t *testing.T, lab *kubelab.Lab, ns, pod string) []string {
	t.Helper()
	out, err := lab.Kubectl("-n", ns, "logs", pod)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(out, "\n"), "\n")
}

func waitLog(t *testing.T, lab *kubelab.Lab, ns, pod, sub string) {
	t.Helper()
	poll(t, fmt.Sprintf("%q in the log of %s/%s", sub, ns, pod), func() bool {
		out, err := lab.Kubectl("-n", ns, "logs", pod)
		return err == nil && strings.Contains(out, sub)
	})
}

func waitLogCount(t *testing.T, lab *kubelab.Lab, ns, pod string, n int) {
	t.Helper()
	poll(t, fmt.Sprintf("%d lines in the log of %s/%s", n, ns, pod), func() bool {
		return len(logLines(t, lab, ns, pod)) >= n
	})
}

// receiverLog reads what the receiver pod printed: "POST <path> <body>".
type receiverLog struct {
	lab *kubelab.Lab
	ns  string
}

func (r *receiverLog) posts(t *testing.T, path string) []string {
	t.Helper()
	var bodies []string
	for _, l := range logLines(t, r.lab, r.ns, "receiver") {
		if b, ok := strings.CutPrefix(l, "POST "+path+" "); ok {
			bodies = append(bodies, b)
		}
	}
	return bodies
}

// waitVigil waits for an alert of the rule in vigil's payload (a batch),
// in a post after the first skip.
func (r *receiverLog) waitVigil(t *testing.T, rule string, skip int) *event.Alert {
	t.Helper()
	var found *event.Alert
	poll(t, "an alert of "+rule+" at the receiver", func() bool {
		posts := r.posts(t, "/vigil")
		for _, b := range posts[min(skip, len(posts)):] {
			var batch []json.RawMessage
			if err := json.Unmarshal([]byte(b), &batch); err != nil {
				t.Fatalf("receiver got a vigil payload that is not a JSON array: %v: %s", err, b)
			}
			for _, raw := range batch {
				a := new(event.Alert)
				if json.Unmarshal(raw, a) == nil && a.Kind == event.KindAlert && a.Rule.Name == rule &&
					a.Event != nil && a.Event.Process != nil {
					found = a
					return true
				}
			}
		}
		return false
	})
	return found
}

// waitFalco waits for an alert of the rule in Falco's payload and returns
// its output_fields.
func (r *receiverLog) waitFalco(t *testing.T, rule string) map[string]any {
	t.Helper()
	var fields map[string]any
	poll(t, "a falco payload of "+rule+" at the receiver", func() bool {
		for _, b := range r.posts(t, "/falco") {
			var p struct {
				Rule   string         `json:"rule"`
				Fields map[string]any `json:"output_fields"`
			}
			if err := json.Unmarshal([]byte(b), &p); err != nil {
				t.Fatalf("receiver got a falco payload that is not JSON: %v: %s", err, b)
			}
			if p.Rule == rule {
				fields = p.Fields
				return true
			}
		}
		return false
	})
	return fields
}

// agentPrograms are the ids of the BPF programs the agent pod's process
// holds (its descriptors' fdinfo) and those its pinned links attach.
func agentPrograms(t *testing.T, lab *kubelab.Lab, ns, release, pinDir string) []ebpf.ProgramID {
	t.Helper()
	pod := kubectlOut(t, lab, "-n", ns, "get", "pods", "-l", "app.kubernetes.io/instance="+release, "-o", "jsonpath={.items[0].metadata.name}")
	pid := lab.ContainerPID(lab.PodContainerID(ns, pod, "vigil"))
	seen := map[ebpf.ProgramID]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fdinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		for _, l := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(l, "prog_id:"); ok {
				if id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
					seen[ebpf.ProgramID(id)] = true
				}
			}
		}
	}
	names, err := pinned.Links(pinDir)
	if err != nil || len(names) == 0 {
		t.Fatalf("the agent pinned no links in %s (%v)", pinDir, err)
	}
	for _, n := range names {
		l, err := pinned.LoadLink(pinDir, n)
		if err != nil {
			t.Fatal(err)
		}
		info, err := l.Info()
		_ = l.Close()
		if err != nil {
			t.Fatal(err)
		}
		seen[info.Program] = true
	}
	ids := make([]ebpf.ProgramID, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	t.Logf("the agent holds %d programs, %d pinned links; %s", len(ids), len(names), usage(pid))
	return ids
}

// followAgent streams the agent pod's log (kubectl logs -f);
// the function returned waits for the stream to end (the pod gone) and
// returns what it read.
func followAgent(t *testing.T, lab *kubelab.Lab, ns, release string) func() string {
	t.Helper()
	pod := kubectlOut(t, lab, "-n", ns, "get", "pods", "-l", "app.kubernetes.io/instance="+release, "-o", "jsonpath={.items[0].metadata.name}")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cmd := exec.CommandContext(ctx, filepath.Join(lab.BinDir, "kubectl"), "--kubeconfig", lab.Kubeconfig,
		"-n", ns, "logs", "-f", pod)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	// the stream is open once the log so far came
	poll(t, "the log of "+ns+"/"+pod, func() bool { return out.String() != "" })
	return func() string {
		select {
		case <-done:
		case <-time.After(3 * time.Minute):
			t.Errorf("the log of %s/%s still streams: the pod did not end", ns, pod)
		}
		return out.String()
	}
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// usage is what the kernel says the process used: resident memory now and
// at its peak, and its CPU time over its life so far.
func usage(pid int) string {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return err.Error()
	}
	var mem []string
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
			mem = append(mem, strings.Join(strings.Fields(l), " "))
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return err.Error()
	}
	// fields after the command's closing parenthesis: utime is the 12th,
	// stime the 13th, starttime the 20th (clock ticks, 100 a second here)
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	if len(f) < 20 {
		return "short /proc stat"
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	start, _ := strconv.ParseFloat(f[19], 64)
	up, _ := os.ReadFile("/proc/uptime")
	var upSec float64
	_, _ = fmt.Sscan(string(up), &upSec)
	life := upSec - start/100
	return fmt.Sprintf("%s; CPU %.1f s in %.0f s (%.1f %% of a core)", strings.Join(mem, ", "), (ut+st)/100, life, 100*(ut+st)/100/life)
}
