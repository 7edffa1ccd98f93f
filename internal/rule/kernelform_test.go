package rule

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/policy"
)

const enforcingRules = `
- list: shells
  items: [/bin/sh, /bin/bash]
- rule: no_netcat
  description: d
  severity: high
  condition: kind == "process_exec" && process.binary in ["/usr/bin/nc", "/usr/bin/ncat"]
  action: kill
- rule: no_shells
  description: d
  severity: high
  condition: kind == "process_exec" && process.binary in shells
  action: kill
- rule: no_shadow
  description: d
  severity: high
  condition: kind == "file_open" && (file.path == "/etc/shadow" || file.path.startsWith("/etc/ssh/"))
  action: kill
- rule: no_metadata
  description: d
  severity: high
  condition: kind == "net_connect" && network.daddr.inCIDR(["169.254.169.254/32", "fd00:ec2::254/128"]) && network.dport == 80 && network.protocol == "tcp"
  action: deny
- rule: no_mining_ports
  description: d
  severity: high
  condition: kind == "net_connect" && network.dport in [3333, 4444]
  action: deny
- rule: no_modules
  description: d
  severity: high
  condition: kind == "module_load"
  action: kill
- rule: kill_curl_pipes
  description: d
  severity: high
  condition: kind == "process_exec" && process.binary == "/usr/bin/curl" && process.args.exists(a, a.contains("|"))
  action: kill
- rule: kill_after_connect
  description: d
  severity: high
  condition: kind == "net_connect" && network.dport == 6667
  action: kill
- rule: just_alert
  description: d
  severity: low
  condition: kind == "process_exec" && process.binary == "/usr/bin/nc"
`

// TestKernelForms: the rules the kernel can decide become entries of the
// rules policy, named after the rules; the others stay in user space and
// say why.
func TestKernelForms(t *testing.T) {
	rs := mustCompile(t, enforcingRules)
	where := map[string][2]string{}
	for _, r := range rs.Rules() {
		w, why := r.Enforcement()
		where[r.Name] = [2]string{w, why}
	}
	for name, want := range map[string]string{
		"no_netcat": InKernel, "no_shells": InKernel, "no_shadow": InKernel, "no_metadata": InKernel,
		"no_mining_ports": InKernel, "no_modules": InKernel, "kill_curl_pipes": InUserspace,
		"kill_after_connect": InUserspace, "just_alert": "",
	} {
		if where[name][0] != want {
			t.Errorf("%s runs in %q (%s), want %q", name, where[name][0], where[name][1], want)
		}
	}
	if why := where["kill_curl_pipes"][1]; !strings.Contains(why, "process.args") {
		t.Errorf("kill_curl_pipes: reason %q does not name process.args", why)
	}

	p := rs.Policy()
	if p == nil || p.Name != RulesPolicy || p.Mode != policy.Enforce || !p.Scope.Host() {
		t.Fatalf("policy = %+v", p)
	}
	var exec []string
	for _, d := range p.Exec.Deny {
		exec = append(exec, d.Name+"="+d.Path)
	}
	if strings.Join(exec, ",") != "no_shells=/bin/bash,no_shells=/bin/sh,no_netcat=/usr/bin/nc,no_netcat=/usr/bin/ncat" {
		t.Errorf("exec entries = %v", exec)
	}
	if len(p.Files) != 2 || p.Files[0].Path != "/etc/shadow" || p.Files[1].Path != "/etc/ssh" || p.Files[1].Name != "no_shadow" {
		t.Errorf("file entries = %+v", p.Files)
	}
	if len(p.Connect) != 3 {
		t.Fatalf("connect entries = %+v", p.Connect)
	}
	md := p.Connect[0]
	if md.Name != "no_metadata" || md.Prefix != netip.MustParsePrefix("169.254.169.254/32") || md.Protocol != "tcp" || len(md.Ports) != 1 || md.Ports[0] != 80 {
		t.Errorf("metadata entry = %+v", md)
	}
	if mp := p.Connect[2]; mp.Name != "no_mining_ports" || mp.Prefix.IsValid() || len(mp.Ports) != 2 {
		t.Errorf("mining entry = %+v", mp)
	}
	if p.Modules == nil || p.Modules.Name != "no_modules" {
		t.Errorf("modules = %+v", p.Modules)
	}
}

func TestNoEnforcingRulesNoPolicy(t *testing.T) {
	rs := mustCompile(t, "- rule: a\n  description: d\n  severity: low\n  condition: kind == \"process_exec\"\n")
	if p := rs.Policy(); p != nil {
		t.Errorf("policy of alert-only rules = %+v", p)
	}
}
