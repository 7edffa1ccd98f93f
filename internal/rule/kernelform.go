package rule

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

// Where a kill or deny rule is carried out.
const (
	InKernel    = "kernel"
	InUserspace = "userspace"
)

// KernelForm is what the kernel can decide of a kill or deny rule on its
// own, as the entries of a policy: the rule's whole condition, with no
// part left for user space.
type KernelForm struct {
	ExecPaths []string         // process_exec: process.binary == / in
	FilePaths []string         // file_open: file.path == / in; a directory ends in "/"
	Connect   []policy.NetRule // net_connect: network.daddr, network.dport, network.protocol
	Modules   bool             // module_load
}

// enforcementForm is kernelForm for the forms each action has in the
// kernel: a kill at exec, open or module load, a deny at connect.
func enforcementForm(a Action, e ast.Expr, kinds []event.Kind, hasExceptions, hasTracks bool) (*KernelForm, string) {
	k, why := kernelForm(e, kinds, hasExceptions, hasTracks)
	if k == nil {
		return nil, why
	}
	switch {
	case a == ActionDeny && k.Connect == nil:
		return nil, "the kernel denies connections (net_connect); it kills at exec, open and module load"
	case a == ActionKill && k.Connect != nil:
		return nil, "a connection is denied in the kernel (action: deny); a kill after it happens is done from user space"
	}
	return k, ""
}

// kernelForm reads a kill or deny rule's condition. It returns the form,
// or nil and the reason the rule stays in user space.
func kernelForm(e ast.Expr, kinds []event.Kind, hasExceptions, hasTracks bool) (*KernelForm, string) {
	if len(kinds) != 1 {
		return nil, "the condition must name exactly one event kind"
	}
	if hasExceptions {
		return nil, "exceptions are checked in user space"
	}
	if hasTracks {
		return nil, "tracked state lives in user space"
	}
	var rest []ast.Expr
	for _, c := range conjuncts(e) {
		if path, _, ok := stringTest(c, "kind"); ok && path == "kind" {
			continue
		}
		rest = append(rest, c)
	}
	k := &KernelForm{}
	switch kinds[0] {
	case event.KindProcessExec:
		for _, c := range rest {
			_, vals, ok := stringTest(c, "process.binary")
			if !ok || len(vals.prefix)+len(vals.suffix)+len(vals.contains) > 0 {
				return nil, "only process.binary == \"…\" or in […] is decided at exec in the kernel; " + describeExpr(c) + " is not"
			}
			if k.ExecPaths != nil {
				return nil, "one process.binary test only"
			}
			k.ExecPaths = vals.eq
		}
		if k.ExecPaths == nil {
			return nil, "it does not say which binary"
		}
	case event.KindFileOpen:
		for _, c := range rest {
			_, vals, ok := stringTest(c, "file.path")
			if !ok || len(vals.suffix)+len(vals.contains) > 0 || k.FilePaths != nil {
				return nil, "only file.path == \"…\", in […] or startsWith(\"/dir/\") is decided at open in the kernel; " + describeExpr(c) + " is not"
			}
			for _, p := range vals.prefix {
				if !strings.HasSuffix(p, "/") {
					return nil, fmt.Sprintf("prefix %q is not a directory (end it with /)", p)
				}
			}
			k.FilePaths = append(append([]string{}, vals.eq...), vals.prefix...)
		}
		if k.FilePaths == nil {
			return nil, "it does not say which file"
		}
	case event.KindNetConnect:
		var prefixes []netip.Prefix
		var ports []uint16
		protocol := ""
		for _, c := range rest {
			switch {
			case addrTest(c, &prefixes):
			case portTest(c, &ports):
			case protoTest(c, &protocol):
			default:
				return nil, "only network.daddr (inCIDR, ==, in), network.dport (==, in) and network.protocol (==) are decided at connect in the kernel; " + describeExpr(c) + " is not"
			}
		}
		if len(prefixes) == 0 && len(ports) == 0 {
			return nil, "it does not say which address or port"
		}
		if len(prefixes) == 0 {
			prefixes = []netip.Prefix{{}}
		}
		for _, p := range prefixes {
			k.Connect = append(k.Connect, policy.NetRule{Prefix: p, Ports: ports, Protocol: protocol})
		}
	case event.KindModuleLoad:
		if len(rest) > 0 {
			return nil, "module loads are blocked as a whole in the kernel; " + describeExpr(rest[0]) + " is checked in user space"
		}
		k.Modules = true
	default:
		return nil, fmt.Sprintf("the kernel decides process_exec, file_open, net_connect and module_load; %s is handled in user space", kinds[0])
	}
	return k, ""
}

// addrTest reads network.daddr.inCIDR(…), network.daddr == "…" and
// network.daddr in […] into prefixes; a second address test is refused
// (the kernel would need both to hold).
func addrTest(e ast.Expr, prefixes *[]netip.Prefix) bool {
	if *prefixes != nil || e.Kind() != ast.CallKind {
		return false
	}
	c := e.AsCall()
	var lits []string
	switch {
	case c.FunctionName() == "inCIDR" && c.IsMemberFunction() && len(c.Args()) == 1:
		if p, ok := fieldPath(c.Target()); !ok || p != "network.daddr" {
			return false
		}
		lits = stringLits(c.Args()[0])
	default:
		_, vals, ok := stringTest(e, "network.daddr")
		if !ok || len(vals.prefix)+len(vals.suffix)+len(vals.contains) > 0 {
			return false
		}
		lits = vals.eq
	}
	if len(lits) == 0 {
		return false
	}
	out := []netip.Prefix{}
	for _, l := range lits {
		if p, err := netip.ParsePrefix(l); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(l); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		} else {
			return false
		}
	}
	*prefixes = out
	return true
}

func portTest(e ast.Expr, ports *[]uint16) bool {
	path, ints, ok := intTest(e)
	if !ok || path != "network.dport" || *ports != nil {
		return false
	}
	out := []uint16{}
	for _, n := range ints {
		if n <= 0 || n > 65535 {
			return false
		}
		out = append(out, uint16(n))
	}
	*ports = out
	return true
}

func protoTest(e ast.Expr, protocol *string) bool {
	_, vals, ok := stringTest(e, "network.protocol")
	if !ok || len(vals.eq) != 1 || *protocol != "" {
		return false
	}
	switch vals.eq[0] {
	case "tcp", "udp":
		*protocol = vals.eq[0]
		return true
	}
	return false
}

// describeExpr names a conjunct for people, by the first field it reads.
func describeExpr(e ast.Expr) string {
	if p, ok := firstField(e); ok {
		if e.Kind() == ast.CallKind && e.AsCall().IsMemberFunction() {
			if tp, ok := fieldPath(e.AsCall().Target()); ok && tp == p {
				return p + "." + e.AsCall().FunctionName() + "(…)"
			}
		}
		return "a test of " + p
	}
	if e.Kind() == ast.LiteralKind {
		if b, ok := e.AsLiteral().(types.Bool); ok {
			return fmt.Sprintf("the constant %v", bool(b))
		}
	}
	return "this part of the condition"
}

// firstField finds the first field path an expression reads.
func firstField(e ast.Expr) (string, bool) {
	if p, ok := fieldPath(e); ok && strings.Contains(p, ".") {
		return p, true
	}
	var kids []ast.Expr
	switch e.Kind() {
	case ast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() {
			kids = append(kids, c.Target())
		}
		kids = append(kids, c.Args()...)
	case ast.ComprehensionKind:
		kids = append(kids, e.AsComprehension().IterRange())
	case ast.ListKind:
		kids = e.AsList().Elements()
	case ast.SelectKind:
		kids = append(kids, e.AsSelect().Operand())
	}
	for _, k := range kids {
		if p, ok := firstField(k); ok {
			return p, true
		}
	}
	return "", false
}

// RulesPolicy is the name of the policy that carries the kernel forms of
// rules with a kill or deny action.
const RulesPolicy = policy.RulesName

// Policy collects the kernel forms of the set's enabled kill and deny
// rules into one host-wide enforcing policy (nil when there are none).
// Entries are named after their rules.
func (rs *Ruleset) Policy() *policy.Policy {
	p := &policy.Policy{Name: RulesPolicy, Mode: policy.Enforce, Severity: event.SeverityHigh,
		Description: "rules with action kill or deny whose condition the kernel decides"}
	for _, r := range rs.rules {
		if !r.Enabled || r.kernel == nil {
			continue
		}
		e := policy.Entry{Name: r.Name, Source: r.Source}
		k := r.kernel
		for _, path := range k.ExecPaths {
			p.Exec.Deny = append(p.Exec.Deny, policy.PathRule{Entry: e, Path: path})
		}
		for _, path := range k.FilePaths {
			p.Files = append(p.Files, policy.FileRule{Entry: e, Path: strings.TrimSuffix(path, "/"), Access: policy.AccessAny})
		}
		for _, nr := range k.Connect {
			nr.Entry = e
			p.Connect = append(p.Connect, nr)
		}
		if k.Modules && p.Modules == nil {
			p.Modules = &policy.ModuleRule{Entry: e}
		}
	}
	if p.Empty() {
		return nil
	}
	sort.SliceStable(p.Exec.Deny, func(i, j int) bool { return p.Exec.Deny[i].Path < p.Exec.Deny[j].Path })
	return p
}

// Enforcement says where a kill or deny rule runs ("" for alert rules)
// and, for user space, why the kernel cannot decide it.
func (r *Rule) Enforcement() (where, why string) {
	switch {
	case r.Action == ActionAlert:
		return "", ""
	case r.kernel != nil:
		return InKernel, ""
	}
	return InUserspace, r.userspaceWhy
}
