package rule

import (
	"slices"
	"strings"
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

// TestRuleScope: a scoped rule matches only in the pods and containers it
// chooses, never on the host, and its mistakes are reported with file,
// line and field.
func TestRuleScope(t *testing.T) {
	rs := mustCompile(t, `
- rule: shell_in_prod_web
  description: d
  condition: kind == "process_exec" && process.name == "sh"
  severity: low
  scope:
    namespaces: [prod, payments]
    podSelector:
      matchLabels: {app: web}
      matchExpressions:
        - {key: track, operator: NotIn, values: [canary]}
    containers: [web]
- rule: shell_in_any_pod
  description: d
  condition: kind == "process_exec" && process.name == "sh"
  severity: low
  scope: {}
`)
	web := func(ns string, labels map[string]string) *event.Event {
		return podEv("/bin/sh", &event.Pod{UID: "u1", Name: "web-1", Namespace: ns, Labels: labels})
	}
	for _, c := range []struct {
		name string
		ev   *event.Event
		want []string
	}{
		{"chosen pod", web("payments", map[string]string{"app": "web"}), []string{"shell_in_prod_web", "shell_in_any_pod"}},
		{"other namespace", web("dev", map[string]string{"app": "web"}), []string{"shell_in_any_pod"}},
		{"excluded by expression", web("prod", map[string]string{"app": "web", "track": "canary"}), []string{"shell_in_any_pod"}},
		{"host", execEv(0, "/bin/sh"), nil},
	} {
		if got := ruleNames(run(rs, Config{}, c.ev)); !slices.Equal(got, c.want) {
			t.Errorf("%s: alerts %v, want %v", c.name, got, c.want)
		}
	}
	other := web("prod", map[string]string{"app": "web"})
	other.Process.Container.Name = "sidecar"
	if got := ruleNames(run(rs, Config{}, other)); !slices.Equal(got, []string{"shell_in_any_pod"}) {
		t.Errorf("other container: alerts %v", got)
	}

	// a site narrows a rule with override, and cannot append to a scope
	rs = mustCompile(t, `
- rule: r
  description: d
  condition: kind == "process_exec"
  severity: low
`, `
- rule: r
  override: true
  scope: {namespaces: [prod]}
`)
	if got := ruleNames(run(rs, Config{}, web("dev", nil))); len(got) != 0 {
		t.Errorf("overridden scope: alerts %v", got)
	}
	errs := compileErrors(t, `
- rule: r
  description: d
  condition: kind == "process_exec"
  severity: low
  scope:
    namespaces: [Prod]
    podSelector: {matchExpressions: [{key: app, operator: in, values: [web]}]}
- rule: r
  append: true
  scope: {}
- rule: k
  description: d
  condition: kind == "net_connect" && network.dport == 4444
  severity: low
  action: deny
  scope: {}
`)
	for _, want := range []string{
		`a.yaml:7:18: rule r: scope.namespaces[0]: "Prod" is not a valid name`,
		`a.yaml:8:59: rule r: scope.podSelector.matchExpressions[0].operator: unknown operator "in"`,
		`a.yaml:11:10: rule r: scope: cannot append to scope; use override: true`,
		`rule k: action: deny happens in the kernel before the call returns, and the kernel cannot decide this rule: a scope is decided in user space`,
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("missing error %q in:\n%s", want, errs)
		}
	}
}

// TestScopedKillStaysInUserspace: the kernel's tables know cgroups, not
// pods, so a scoped kill rule is carried out from user space.
func TestScopedKillStaysInUserspace(t *testing.T) {
	rs := mustCompile(t, `
- rule: k
  description: d
  condition: kind == "process_exec" && process.binary == "/usr/bin/nc"
  severity: low
  action: kill
  scope: {namespaces: [prod]}
`)
	if where, why := rs.Rules()[0].Enforcement(); where != InUserspace || why != "a scope is decided in user space" {
		t.Errorf("enforcement %v %q", where, why)
	}
	if p := rs.Policy(); p != nil && len(p.Exec.Deny) > 0 {
		t.Errorf("scoped kill rule became a kernel entry: %+v", p.Exec)
	}
}
