package rule

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// podEv is a process_exec of binary in container c of pod p, whose parent
// runs on the host.
func podEv(binary string, p *event.Pod) *event.Event {
	ev := execEv(0, binary)
	ev.Process.Container = &event.Container{ID: "0123456789abcdef0123", Runtime: "containerd", Name: "web",
		Image: "registry.example.com:5000/shop/web:1.2", ImageDigest: "sha256:aa", Pod: p}
	ev.Parent = &event.Process{Binary: "/usr/bin/containerd-shim-runc-v2", Container: &event.Container{ID: event.HostContainerID}}
	return ev
}

// TestK8sFields: the k8s object reads the pod under Falco's names, for the
// event, the process and the parent, and reads as empty outside pods.
func TestK8sFields(t *testing.T) {
	rs := mustCompile(t, `
- rule: falco_names
  description: d
  condition: >
    kind == "process_exec" && k8s.ns.name == "prod" && k8s.pod.name == "web-7d9f" &&
    k8s.pod.labels["app"] == "web" && k8s.pod.uid == "u1" && k8s.pod.namespace == "prod" &&
    k8s.workload.kind == "Deployment" && k8s.workload.name == "web" &&
    process.k8s.ns.name == k8s.ns.name && parent.k8s.ns.name == "" &&
    container.pod.workload.name == "web" && container.image_digest == "sha256:aa" &&
    node == "n1"
  severity: low
- rule: host_reads_empty
  description: d
  condition: >
    kind == "process_exec" && k8s.ns.name == "" && k8s.pod.name == "" && size(k8s.pod.labels) == 0 &&
    k8s.workload.kind == "" && container.pod.workload.kind == "" && container.image_digest == ""
  severity: low
`)
	pod := &event.Pod{UID: "u1", Name: "web-7d9f", Namespace: "prod", Labels: map[string]string{"app": "web"},
		Workload: &event.Workload{Kind: "Deployment", Name: "web"}}
	if got := ruleNames(run(rs, Config{}, podEv("/bin/sh", pod))); !slices.Equal(got, []string{"falco_names"}) {
		t.Errorf("pod process: alerts %v, want falco_names", got)
	}
	if got := ruleNames(run(rs, Config{}, execEv(0, "/bin/sh"))); !slices.Equal(got, []string{"host_reads_empty"}) {
		t.Errorf("host process: alerts %v, want host_reads_empty", got)
	}
	noPod := execEv(0, "/bin/sh")
	noPod.Process = nil
	if got := ruleNames(run(rs, Config{}, noPod)); !slices.Equal(got, []string{"host_reads_empty"}) {
		t.Errorf("event without a process: alerts %v, want host_reads_empty", got)
	}
}

// TestK8sFieldsIndexed: a guard on a k8s field is read natively, so a rule
// scoped by namespace in its condition costs nothing for other pods.
func TestK8sFieldsIndexed(t *testing.T) {
	rs := mustCompile(t, `
- rule: in_prod
  description: d
  condition: kind == "process_exec" && k8s.ns.name in ["prod", "payments"]
  severity: low
`)
	if on := rs.Rules()[0].Indexed(); on != "k8s.ns.name" {
		t.Errorf("indexed on %q, want k8s.ns.name", on)
	}
	pod := &event.Pod{Namespace: "payments"}
	if got := ruleNames(run(rs, Config{}, podEv("/bin/sh", pod))); !slices.Equal(got, []string{"in_prod"}) {
		t.Errorf("alerts %v, want in_prod", got)
	}
}
