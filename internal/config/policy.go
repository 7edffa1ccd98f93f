package config

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/selector"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// LoadPolicies reads a policy file: one or more YAML documents, each one
// policy (docs/policies.md).
func LoadPolicies(path string) ([]policy.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return ParsePolicies(path, data)
}

// ParsePolicies checks the policies in data; file names it in errors.
// Nothing is returned unless every policy in the file is valid.
func ParsePolicies(file string, data []byte) ([]policy.Policy, error) {
	d := &decoder{file: file}
	var out []policy.Policy
	seen := map[string]int{}
	for doc, err := range yamldoc.Documents(data) {
		if err != nil {
			return nil, &Error{File: file, Line: yamlErrorLine(err), Field: "policy", Msg: err.Error()}
		}
		p, ok := d.policy(doc.Content[0])
		if !ok {
			continue
		}
		if line, dup := seen[p.Name]; dup {
			d.errorf(doc.Content[0], "policy", "%q is defined twice in this file (first on line %d)", p.Name, line)
		}
		seen[p.Name] = doc.Content[0].Line
		out = append(out, p)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, &Error{File: file, Line: 1, Field: "policy", Msg: "the file holds no policy"}
	}
	return out, nil
}

// yamlErrorLine digs the line out of a YAML syntax error ("yaml: line 3: …").
func yamlErrorLine(err error) int {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, "line "); ok {
		if n, err := strconv.Atoi(strings.SplitN(rest, ":", 2)[0]); err == nil {
			return n
		}
	}
	return 1
}

func (d *decoder) policy(n *yaml.Node) (policy.Policy, bool) {
	keys, ok := d.mapping(n, "", "policy", "description", "mode", "severity", "tags", "scope",
		"exec", "files", "network", "packets", "modules")
	if !ok {
		return policy.Policy{}, false
	}
	p := policy.Policy{Severity: event.SeverityHigh, Source: fmt.Sprintf("%s:%d", d.file, n.Line)}
	if v := keys["policy"]; v == nil {
		d.errorf(n, "policy", "missing: every policy needs a name (policy: my-policy)")
	} else if p.Name = d.str(v, "policy"); p.Name != "" {
		if err := policy.ValidName(p.Name); err != nil {
			d.errorf(v, "policy", "%v", err)
		} else if p.Name == policy.RulesName {
			d.errorf(v, "policy", "%q is reserved for the rules with action kill or deny: choose another name", p.Name)
		}
	}
	decodeKey(keys, "", "description", &p.Description, d.str)
	if v := keys["mode"]; v == nil {
		d.errorf(n, "mode", "missing: say monitor (report what would be blocked) or enforce (block)")
	} else {
		switch m := policy.Mode(d.str(v, "mode")); m {
		case policy.Monitor, policy.Enforce:
			p.Mode = m
		default:
			d.errorf(v, "mode", "%q is not a mode: want monitor or enforce", m)
		}
	}
	decodeKey(keys, "", "severity", &p.Severity, d.severity)
	decodeKey(keys, "", "tags", &p.Tags, d.strings)
	decodeKey(keys, "", "scope", &p.Scope, d.scope)
	decodeKey(keys, "", "exec", &p.Exec, d.exec)
	decodeKey(keys, "", "files", &p.Files, d.files)
	if v := keys["network"]; v != nil {
		p.Connect, p.Bind = d.network(v, "network")
	}
	decodeKey(keys, "", "packets", &p.Packets, d.packets)
	decodeKey(keys, "", "modules", &p.Modules, d.modules)
	if p.Empty() && len(d.errs) == 0 {
		d.errorf(n, "policy", "%q asks for nothing: give it exec, files, network, packets or modules", p.Name)
	}
	return p, true
}

func (d *decoder) severity(n *yaml.Node, field string) event.Severity {
	s := event.Severity(d.str(n, field))
	switch s {
	case event.SeverityInfo, event.SeverityLow, event.SeverityMedium, event.SeverityHigh, event.SeverityCritical:
		return s
	}
	d.errorf(n, field, "%q is not a severity: want info, low, medium, high or critical", s)
	return event.SeverityHigh
}

func (d *decoder) scope(n *yaml.Node, field string) policy.Scope {
	allowed := append([]string{"cgroup", "container"}, selector.Keys()...)
	keys, ok := d.mapping(n, field, allowed...)
	if !ok {
		return policy.Scope{}
	}
	var s policy.Scope
	set := 0
	if v := keys["cgroup"]; v != nil {
		s.Cgroup = filepath.Clean(d.str(v, field+".cgroup"))
		set++
	}
	if v := keys["container"]; v != nil {
		s.Container = d.str(v, field+".container")
		if len(s.Container) < 12 || strings.Trim(s.Container, "0123456789abcdef") != "" {
			d.errorf(v, field+".container", "%q is not a container id: want its hex id or a prefix of at least 12 hex digits", s.Container)
		}
		set++
	}
	if set > 1 {
		d.errorf(n, field, "give one of cgroup or container, not both")
	}
	// the Kubernetes keys, in the order written, go to internal/selector:
	// the nodes are the file's, so its errors keep their lines
	pods := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	n = resolve(n)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; slices.Contains(selector.Keys(), k.Value) {
			pods.Content = append(pods.Content, k, resolve(n.Content[i+1]))
		}
	}
	if len(pods.Content) == 0 {
		return s
	}
	if set > 0 {
		d.errorf(n, field, "give cgroup, container or Kubernetes pods (namespace, podSelector, containerSelector), not several: a pod's containers are found by the agent")
		return s
	}
	p, errs := selector.Decode(pods, field)
	for _, e := range errs {
		d.errs = append(d.errs, &Error{File: d.file, Line: e.Line, Field: e.Field, Msg: e.Msg})
	}
	s.Pods = p
	return s
}

func (d *decoder) exec(n *yaml.Node, field string) policy.Exec {
	keys, ok := d.mapping(n, field, "deny", "hold_unknown")
	if !ok {
		return policy.Exec{}
	}
	e := policy.Exec{HoldUnknown: true}
	if v := keys["deny"]; v != nil {
		d.execDeny(v, field+".deny", &e)
	}
	decodeKey(keys, field, "hold_unknown", &e.HoldUnknown, d.boolean)
	if len(e.DenySHA256) == 0 {
		e.HoldUnknown = false
	}
	return e
}

// execDeny reads exec.deny, binaries by path or by sha256, into e.
func (d *decoder) execDeny(n *yaml.Node, field string, e *policy.Exec) {
	for i, item := range d.sequence(n, field) {
		f := fmt.Sprintf("%s[%d]", field, i)
		ik, ok := d.mapping(item, f, "path", "sha256", "name")
		if !ok {
			continue
		}
		entry := d.entry(item, ik, f)
		switch {
		case ik["path"] != nil && ik["sha256"] != nil:
			d.errorf(item, f, "give path or sha256, not both")
		case ik["path"] != nil:
			path := d.str(ik["path"], f+".path")
			if !filepath.IsAbs(path) {
				d.errorf(ik["path"], f+".path", "%q is not an absolute path", path)
			}
			e.Deny = append(e.Deny, policy.PathRule{Entry: entry, Path: filepath.Clean(path)})
		case ik["sha256"] != nil:
			sum := strings.ToLower(d.str(ik["sha256"], f+".sha256"))
			if err := policy.ValidSHA256(sum); err != nil {
				d.errorf(ik["sha256"], f+".sha256", "%v", err)
			}
			e.DenySHA256 = append(e.DenySHA256, policy.HashRule{Entry: entry, SHA256: sum})
		default:
			d.errorf(item, f, "give the binary's path or its sha256")
		}
	}
}

// entry reads the optional name of a policy entry; unnamed entries are
// called by their position.
func (d *decoder) entry(n *yaml.Node, keys map[string]*yaml.Node, field string) policy.Entry {
	e := policy.Entry{Name: field, Source: fmt.Sprintf("%s:%d", d.file, n.Line)}
	decodeKey(keys, field, "name", &e.Name, d.str)
	return e
}

func (d *decoder) files(n *yaml.Node, field string) []policy.FileRule {
	var out []policy.FileRule
	for i, item := range d.sequence(n, field) {
		f := fmt.Sprintf("%s[%d]", field, i)
		keys, ok := d.mapping(item, f, "path", "access", "name")
		if !ok {
			continue
		}
		r := policy.FileRule{Entry: d.entry(item, keys, f), Access: policy.AccessWrite}
		if v := keys["path"]; v == nil {
			d.errorf(item, f+".path", "missing: the file or directory to protect")
		} else if r.Path = d.str(v, f+".path"); !filepath.IsAbs(r.Path) {
			d.errorf(v, f+".path", "%q is not an absolute path", r.Path)
		} else {
			r.Path = filepath.Clean(r.Path)
		}
		if v := keys["access"]; v != nil {
			switch a := policy.Access(d.str(v, f+".access")); a {
			case policy.AccessWrite, policy.AccessRead, policy.AccessAny:
				r.Access = a
			default:
				d.errorf(v, f+".access", "%q is not an access: want write, read or any", a)
			}
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) network(n *yaml.Node, field string) (connect, bind []policy.NetRule) {
	keys, ok := d.mapping(n, field, "connect", "bind")
	if !ok {
		return nil, nil
	}
	if v := keys["connect"]; v != nil {
		connect = d.netRules(v, field+".connect", true)
	}
	if v := keys["bind"]; v != nil {
		bind = d.netRules(v, field+".bind", false)
	}
	return connect, bind
}

func (d *decoder) netRules(n *yaml.Node, field string, needTarget bool) []policy.NetRule {
	var out []policy.NetRule
	for i, item := range d.sequence(n, field) {
		f := fmt.Sprintf("%s[%d]", field, i)
		keys, ok := d.mapping(item, f, "cidr", "ports", "protocol", "name")
		if !ok {
			continue
		}
		r := policy.NetRule{Entry: d.entry(item, keys, f)}
		if v := keys["cidr"]; v != nil {
			r.Prefix = d.prefix(v, f+".cidr")
		}
		if v := keys["ports"]; v != nil {
			r.Ports = d.ports(v, f+".ports")
		}
		if v := keys["protocol"]; v != nil {
			switch p := d.str(v, f+".protocol"); p {
			case "tcp", "udp":
				r.Protocol = p
			case "any":
			default:
				d.errorf(v, f+".protocol", "%q is not a protocol: want tcp, udp or any", p)
			}
		}
		if !r.Prefix.IsValid() && len(r.Ports) == 0 && keys["cidr"] == nil {
			if needTarget {
				d.errorf(item, f, "give a cidr, ports, or both: an entry that matches every connection would cut the host off")
			} else {
				d.errorf(item, f, "give the ports (and optionally the cidr) that may not be bound")
			}
		}
		out = append(out, r)
	}
	return out
}

// prefix reads a CIDR or a single address (a /32 or /128).
func (d *decoder) prefix(n *yaml.Node, field string) netip.Prefix {
	s := d.str(n, field)
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Masked() != p {
			d.errorf(n, field, "%q has host bits set: did you mean %s?", s, p.Masked())
		}
		return p.Masked()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen())
	}
	if s != "" {
		d.errorf(n, field, "%q is not a CIDR or an address: want e.g. 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32", s)
	}
	return netip.Prefix{}
}

func (d *decoder) ports(n *yaml.Node, field string) []uint16 {
	var out []uint16
	for i, s := range d.strings(n, field) {
		p, err := strconv.ParseUint(s, 10, 16)
		if err != nil || p == 0 {
			d.errorf(n, fmt.Sprintf("%s[%d]", field, i), "%q is not a port: want 1–65535", s)
			continue
		}
		out = append(out, uint16(p))
	}
	return out
}

func (d *decoder) packets(n *yaml.Node, field string) policy.Packets {
	keys, ok := d.mapping(n, field, "interfaces", "drop")
	if !ok {
		return policy.Packets{}
	}
	var p policy.Packets
	decodeKey(keys, field, "interfaces", &p.Interfaces, d.strings)
	decodeKey(keys, field, "drop", &p.Drop, d.dropRules)
	if len(p.Drop) > 0 && len(p.Interfaces) == 0 {
		d.errorf(n, field+".interfaces", "missing: name the interfaces whose ingress packets are checked")
	}
	return p
}

// dropRules reads packets.drop: source prefixes, bare or with a name.
func (d *decoder) dropRules(n *yaml.Node, field string) []policy.PrefixRule {
	var out []policy.PrefixRule
	for i, item := range d.sequence(n, field) {
		f := fmt.Sprintf("%s[%d]", field, i)
		r := policy.PrefixRule{Entry: policy.Entry{Name: f, Source: fmt.Sprintf("%s:%d", d.file, item.Line)}}
		if resolve(item).Kind == yaml.ScalarNode {
			r.Prefix = d.prefix(item, f)
		} else if ik, ok := d.mapping(item, f, "cidr", "name"); ok {
			r.Entry = d.entry(item, ik, f)
			if ik["cidr"] == nil {
				d.errorf(item, f+".cidr", "missing: the source prefix to drop")
			} else {
				r.Prefix = d.prefix(ik["cidr"], f+".cidr")
			}
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) modules(n *yaml.Node, field string) *policy.ModuleRule {
	keys, ok := d.mapping(n, field, "block", "allow")
	if !ok {
		return nil
	}
	r := &policy.ModuleRule{Entry: policy.Entry{Name: field + ".block", Source: fmt.Sprintf("%s:%d", d.file, n.Line)}}
	if v := keys["allow"]; v != nil {
		r.Allow = d.moduleAllow(v, field+".allow")
		r.Name = field + ".allow"
	}
	v := keys["block"]
	off := v != nil && !d.boolean(v, field+".block")
	switch {
	case off && keys["allow"] != nil:
		d.errorf(v, field+".block", "false, with an allow list: an allow list blocks every module it does not name; drop block: false")
		return nil
	case off:
		return nil
	case v == nil && keys["allow"] == nil:
		d.errorf(n, field, "give block: true, or an allow list")
		return nil
	}
	return r
}

// moduleAllow reads an allowlist: each entry one of name, sha256, signer.
func (d *decoder) moduleAllow(n *yaml.Node, field string) []policy.ModuleAllow {
	var out []policy.ModuleAllow
	for i, item := range d.sequence(n, field) {
		f := fmt.Sprintf("%s[%d]", field, i)
		ik, ok := d.mapping(item, f, "module", "sha256", "signer", "name")
		if !ok {
			continue
		}
		a := policy.ModuleAllow{Entry: d.entry(item, ik, f)}
		given := 0
		if v := ik["module"]; v != nil {
			given++
			a.Module = d.str(v, f+".module")
			if a.Module == "" || strings.ContainsAny(a.Module, "/ \t") {
				d.errorf(v, f+".module", "%q is not a module name", a.Module)
			}
		}
		if v := ik["sha256"]; v != nil {
			given++
			a.SHA256 = strings.ToLower(d.str(v, f+".sha256"))
			if err := policy.ValidSHA256(a.SHA256); err != nil {
				d.errorf(v, f+".sha256", "%v", err)
			}
		}
		if v := ik["signer"]; v != nil {
			given++
			if a.Signer = d.str(v, f+".signer"); a.Signer == "" {
				d.errorf(v, f+".signer", "empty: want the signer's name, as modinfo prints it")
			}
		}
		if given != 1 {
			d.errorf(item, f, "give one of module, sha256 or signer")
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 && len(d.errs) == 0 {
		d.errorf(n, field, "empty: list the modules to allow, or use block: true to allow none")
	}
	return out
}
