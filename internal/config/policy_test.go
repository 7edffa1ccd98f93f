package config

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

const fullPolicy = `policy: lock-down
description: everything a policy can say
mode: enforce
severity: critical
tags: [T1059, T1105]
scope:
  cgroup: /sys/fs/cgroup/unified/app
exec:
  deny:
    - path: /usr/bin/nc
      name: netcat
    - sha256: 3B5D5C3712955042212316173CCF37BE800A1B5D1B2F9B6A8B1E8B0F5C8F9A7E
  hold_unknown: false
files:
  - path: /etc/shadow
  - path: /etc/ssh/
    access: any
network:
  connect:
    - cidr: 10.0.0.0/8
      ports: [22, 3389]
      protocol: tcp
    - cidr: 169.254.169.254
    - ports: [3333]
  bind:
    - ports: [4444]
packets:
  interfaces: [eth0]
  drop:
    - 203.0.113.0/24
    - cidr: 2001:db8::/32
      name: doc-range
modules:
  block: true
---
policy: second
mode: monitor
modules:
  block: true
`

func TestParsePoliciesReadsEveryField(t *testing.T) {
	ps, err := ParsePolicies("p.yaml", []byte(fullPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Fatalf("got %d policies, want 2", len(ps))
	}
	p := ps[0]
	if p.Name != "lock-down" || p.Mode != policy.Enforce || p.Severity != event.SeverityCritical ||
		len(p.Tags) != 2 || p.Scope.Cgroup != "/sys/fs/cgroup/unified/app" || p.Source != "p.yaml:1" {
		t.Errorf("header = %+v", p)
	}
	if len(p.Exec.Deny) != 1 || p.Exec.Deny[0].Path != "/usr/bin/nc" || p.Exec.Deny[0].Name != "netcat" {
		t.Errorf("exec deny = %+v", p.Exec.Deny)
	}
	if len(p.Exec.DenySHA256) != 1 || p.Exec.DenySHA256[0].SHA256 != strings.ToLower("3B5D5C3712955042212316173CCF37BE800A1B5D1B2F9B6A8B1E8B0F5C8F9A7E") ||
		p.Exec.DenySHA256[0].Name != "exec.deny[1]" || p.Exec.DenySHA256[0].Source != "p.yaml:12" {
		t.Errorf("exec sha256 = %+v", p.Exec.DenySHA256)
	}
	if p.Exec.HoldUnknown {
		t.Error("hold_unknown: false was not read")
	}
	if len(p.Files) != 2 || p.Files[0].Access != policy.AccessWrite || p.Files[1].Path != "/etc/ssh" || p.Files[1].Access != policy.AccessAny {
		t.Errorf("files = %+v", p.Files)
	}
	if len(p.Connect) != 3 || p.Connect[0].Prefix != netip.MustParsePrefix("10.0.0.0/8") || len(p.Connect[0].Ports) != 2 ||
		p.Connect[0].Protocol != "tcp" || p.Connect[1].Prefix != netip.MustParsePrefix("169.254.169.254/32") ||
		p.Connect[2].Prefix.IsValid() || p.Connect[2].Ports[0] != 3333 {
		t.Errorf("connect = %+v", p.Connect)
	}
	if len(p.Bind) != 1 || p.Bind[0].Ports[0] != 4444 {
		t.Errorf("bind = %+v", p.Bind)
	}
	if len(p.Packets.Drop) != 2 || p.Packets.Drop[1].Name != "doc-range" || p.Packets.Interfaces[0] != "eth0" {
		t.Errorf("packets = %+v", p.Packets)
	}
	if p.Modules == nil || ps[1].Modules == nil || ps[1].Mode != policy.Monitor {
		t.Errorf("modules = %+v / %+v", p.Modules, ps[1])
	}
}

// TestParsePodScope: the Kubernetes forms of a scope, combined.
func TestParsePodScope(t *testing.T) {
	ps, err := ParsePolicies("p.yaml", []byte(`policy: pods
mode: enforce
scope:
  namespace: prod
  podSelector:
    matchLabels: {app: web}
    matchExpressions:
      - {key: tier, operator: NotIn, values: [debug]}
  containerSelector:
    names: [nginx]
modules: {block: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := ps[0].Scope
	if s.Host() || s.Pods == nil || s.Cgroup != "" || len(s.Pods.Namespaces) != 1 || s.Pods.Namespaces[0] != "prod" ||
		s.Pods.PodSelector.MatchLabels["app"] != "web" || len(s.Pods.Containers) != 1 {
		t.Fatalf("scope = %+v", s)
	}
	if got, want := s.String(), "pods in prod with app=web, tier NotIn (debug); containers nginx"; got != want {
		t.Errorf("scope reads %q, want %q", got, want)
	}
	if !s.Pods.Matches("prod", map[string]string{"app": "web"}, "nginx") || s.Pods.Matches("dev", map[string]string{"app": "web"}, "nginx") {
		t.Error("the decoded scope does not select as written")
	}
}

// TestParsePoliciesErrors: each mistake is named by file, line and field,
// and says what would be valid.
func TestParsePoliciesErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"no name", "mode: enforce\nmodules: {block: true}\n", "bad.yaml:1: policy: missing"},
		{"bad name", "policy: Bad Name\nmode: enforce\nmodules: {block: true}\n", "bad.yaml:1: policy: \"Bad Name\" is not a policy name"},
		{"reserved name", "policy: rules\nmode: enforce\nmodules: {block: true}\n", "bad.yaml:1: policy: \"rules\" is reserved"},
		{"no mode", "policy: a\nmodules: {block: true}\n", "bad.yaml:1: mode: missing: say monitor"},
		{"bad mode", "policy: a\nmode: block\nmodules: {block: true}\n", "bad.yaml:2: mode: \"block\" is not a mode: want monitor or enforce"},
		{"unknown key", "policy: a\nmode: enforce\nexce: {}\n", "bad.yaml:3: exce: unknown field"},
		{"relative path", "policy: a\nmode: enforce\nexec:\n  deny:\n    - path: bin/nc\n", "bad.yaml:5: exec.deny[0].path: \"bin/nc\" is not an absolute path"},
		{"bad hash", "policy: a\nmode: enforce\nexec:\n  deny:\n    - sha256: abc\n", "bad.yaml:5: exec.deny[0].sha256: \"abc\" is not a SHA-256"},
		{"bad cidr", "policy: a\nmode: enforce\nnetwork:\n  connect:\n    - cidr: 10.0.0/8\n", "bad.yaml:5: network.connect[0].cidr: \"10.0.0/8\" is not a CIDR"},
		{"host bits", "policy: a\nmode: enforce\nnetwork:\n  connect:\n    - cidr: 10.0.0.1/8\n", "did you mean 10.0.0.0/8?"},
		{"bad port", "policy: a\nmode: enforce\nnetwork:\n  connect:\n    - ports: [70000]\n", "bad.yaml:5: network.connect[0].ports[0]: \"70000\" is not a port"},
		{"match all", "policy: a\nmode: enforce\nnetwork:\n  connect:\n    - protocol: tcp\n", "network.connect[0]: give a cidr, ports, or both"},
		{"bad access", "policy: a\nmode: enforce\nfiles:\n  - path: /etc/x\n    access: exec\n", "bad.yaml:5: files[0].access: \"exec\" is not an access"},
		{"k8s and cgroup", "policy: a\nmode: enforce\nscope:\n  cgroup: /x\n  namespace: prod\nmodules: {block: true}\n", "bad.yaml:4: scope: give cgroup, container or Kubernetes pods (namespace, podSelector, containerSelector), not several"},
		{"bad namespace", "policy: a\nmode: enforce\nscope:\n  namespace: Prod\nmodules: {block: true}\n", "bad.yaml:4: scope.namespace: \"Prod\" is not a valid name"},
		{"bad operator", "policy: a\nmode: enforce\nscope:\n  podSelector:\n    matchExpressions:\n      - {key: app, operator: in, values: [web]}\nmodules: {block: true}\n",
			"bad.yaml:6: scope.podSelector.matchExpressions[0].operator: unknown operator \"in\"; want one of [In NotIn Exists DoesNotExist]"},
		{"bad label", "policy: a\nmode: enforce\nscope:\n  podSelector:\n    matchLabels: {app: \"a b\"}\nmodules: {block: true}\n", "bad.yaml:5: scope.podSelector.matchLabels.app: \"a b\" is not a valid label value"},
		{"bad container name", "policy: a\nmode: enforce\nscope:\n  namespace: prod\n  containerSelector:\n    names: [Nginx]\nmodules: {block: true}\n", "bad.yaml:6: scope.containerSelector.names[0]: \"Nginx\" is not a valid name"},
		{"container list", "policy: a\nmode: enforce\nscope:\n  containerSelector: [nginx]\nmodules: {block: true}\n", "bad.yaml:4: scope.containerSelector: want a mapping with [names], got a list"},
		{"unknown scope key", "policy: a\nmode: enforce\nscope:\n  labels: {app: web}\nmodules: {block: true}\n", "bad.yaml:4: scope.labels: unknown field; valid fields here: cgroup, container, namespace"},
		{"two scopes", "policy: a\nmode: enforce\nscope:\n  cgroup: /x\n  container: 0123456789abcdef\nmodules: {block: true}\n", "scope: give one of cgroup or container"},
		{"bad container", "policy: a\nmode: enforce\nscope:\n  container: abc\nmodules: {block: true}\n", "is not a container id"},
		{"no interfaces", "policy: a\nmode: enforce\npackets:\n  drop: [192.0.2.0/24]\n", "packets.interfaces: missing"},
		{"empty", "policy: a\nmode: enforce\n", "asks for nothing"},
		{"duplicate", "policy: a\nmode: enforce\nmodules: {block: true}\n---\npolicy: a\nmode: enforce\nmodules: {block: true}\n", "bad.yaml:5: policy: \"a\" is defined twice in this file (first on line 1)"},
		{"syntax", "policy: a\nmode: [enforce\n", "bad.yaml:"},
		{"nothing", "", "the file holds no policy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps, err := ParsePolicies("bad.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("no error; got %+v", ps)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\ndoes not contain %q", err, c.want)
			}
			if ps != nil {
				t.Errorf("a file with errors returned policies: %+v", ps)
			}
		})
	}
}

func TestSplitPoliciesRoundTrips(t *testing.T) {
	docs, err := SplitPolicies([]byte(fullPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Name != "lock-down" || docs[1].Name != "second" {
		t.Fatalf("docs = %+v", docs)
	}
	whole, _ := ParsePolicies("p.yaml", []byte(fullPolicy))
	for i, d := range docs {
		ps, err := ParsePolicies("stored.yaml", d.YAML)
		if err != nil {
			t.Fatalf("stored %s does not parse: %v", d.Name, err)
		}
		got, want := ps[0], whole[i]
		got.Source, want.Source = "", ""
		if got.Name != want.Name || len(got.Connect) != len(want.Connect) || len(got.Exec.Deny) != len(want.Exec.Deny) ||
			got.Mode != want.Mode || (got.Modules == nil) != (want.Modules == nil) {
			t.Errorf("policy %s changed in the cut: %+v vs %+v", d.Name, got, want)
		}
	}
}

// TestParseModuleAllow: an allowlist by module, hash and signer, and the
// errors a bad one gets, with file, line and field.
func TestParseModuleAllow(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	ps, err := ParsePolicies("m.yaml", []byte(`policy: modules
mode: enforce
modules:
  allow:
    - module: ext4
    - sha256: `+strings.ToUpper(sum)+`
      name: vendor-driver
    - signer: Build time autogenerated kernel key
`))
	if err != nil {
		t.Fatal(err)
	}
	m := ps[0].Modules
	if m == nil || len(m.Allow) != 3 || m.Allow[0].Module != "ext4" || m.Allow[1].SHA256 != sum ||
		m.Allow[1].Entry.Name != "vendor-driver" || m.Allow[2].Signer != "Build time autogenerated kernel key" ||
		m.Allow[0].Source != "m.yaml:5" {
		t.Fatalf("modules %+v", m)
	}
	for _, c := range []struct{ yaml, want string }{
		{"modules:\n  allow:\n    - module: ext4\n      sha256: " + sum + "\n", "m.yaml:5: modules.allow[0]: give one of module, sha256 or signer"},
		{"modules:\n  allow:\n    - sha256: abc\n", `m.yaml:5: modules.allow[0].sha256: "abc" is not a SHA-256`},
		{"modules:\n  block: false\n  allow:\n    - module: ext4\n", "m.yaml:4: modules.block: false, with an allow list"},
		{"modules:\n  allow: []\n", "m.yaml:4: modules.allow: empty"},
		{"modules:\n  allow:\n    - module: ../x\n", `modules.allow[0].module: "../x" is not a module name`},
	} {
		_, err := ParsePolicies("m.yaml", []byte("policy: modules\nmode: enforce\n"+c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
	}
}
