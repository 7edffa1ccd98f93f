// Package policy is what a prevention policy says: which binaries may not
// run, which files may not be opened, which connections and packets are
// refused, whether kernel modules may load, where (host-wide, one cgroup
// or container, or the containers of chosen Kubernetes pods) and in which
// mode (monitor or enforce). It is the model that policy files (internal/config) and rules with a kill or deny action
// (internal/rule) produce and that the enforce stage turns into kernel map
// entries. Pure: no kernel, no I/O.
package policy

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/selector"
)

// Mode says whether a policy acts or only reports what it would do.
type Mode string

const (
	// Monitor reports would_kill / would_deny and lets everything happen.
	Monitor Mode = "monitor"
	// Enforce kills and denies.
	Enforce Mode = "enforce"
)

// Policy is one named policy.
type Policy struct {
	Name        string
	Description string
	Mode        Mode
	// Severity and Tags go into the alerts the policy raises.
	Severity event.Severity
	Tags     []string
	Scope    Scope
	Exec     Exec
	Files    []FileRule
	// Connect refuses connections and datagrams (connect, sendmsg);
	// Bind refuses binding local ports.
	Connect []NetRule
	Bind    []NetRule
	Packets Packets
	// Modules kills a process that tries to load a kernel module.
	Modules *ModuleRule
	// Source is where the policy was defined ("file:line").
	Source string
}

// Scope is where a policy applies. The zero Scope is the whole host.
type Scope struct {
	// Cgroup is a cgroup v2 directory: absolute, or below the cgroup2
	// mount. The policy applies to it and its descendants.
	Cgroup string
	// Container is a container id (or a unique prefix of at least 12
	// characters), resolved to the container's cgroup v2.
	Container string
	// Pods selects containers of Kubernetes pods (namespaces, a label
	// selector, container names): the policy follows the pods on this node
	// as they come and go. Never set with Cgroup or Container.
	Pods *selector.Pods
}

// Host reports whether the scope is the whole host.
func (s Scope) Host() bool {
	return s.Cgroup == "" && s.Container == "" && s.Pods == nil
}

func (s Scope) String() string {
	switch {
	case s.Cgroup != "":
		return "cgroup " + s.Cgroup
	case s.Container != "":
		return "container " + s.Container
	case s.Pods != nil:
		return describePods(s.Pods)
	}
	return "host"
}

// Entry is what every rule of a policy has: the name alerts report it by
// and where it was written.
type Entry struct {
	// Name is what alerts call the entry: the rule's name for rules, the
	// `name` given in a policy file, or its position ("exec.deny[2]").
	Name   string
	Source string
}

// Exec says which binaries may not run.
type Exec struct {
	// Deny are binaries by path (resolved to the file's device and inode,
	// so a symlink or hardlink to it is the same binary).
	Deny []PathRule
	// DenySHA256 are binaries by content: a copy of a denied binary
	// under any name is caught by its hash.
	DenySHA256 []HashRule
	// HoldUnknown stops a binary the agent has not hashed yet before its
	// first instruction until it is hashed (see docs/policies.md for what
	// that costs). Only meaningful with DenySHA256.
	HoldUnknown bool
}

// PathRule names a file by path.
type PathRule struct {
	Entry
	Path string
}

// HashRule names a binary by its SHA-256, lower-case hex.
type HashRule struct {
	Entry
	SHA256 string
}

// Access is what opening a protected file for is refused.
type Access string

// The accesses a file policy can refuse.
const (
	AccessWrite Access = "write"
	AccessRead  Access = "read"
	AccessAny   Access = "any"
)

// FileRule protects a file, or, when Path is a directory, everything
// below it.
type FileRule struct {
	Entry
	Path   string
	Access Access
}

// NetRule matches connections by destination (or, for bind, the local
// address): a prefix (invalid = any address), ports (none = any) and a
// protocol ("tcp", "udp" or "" for both).
type NetRule struct {
	Entry
	Prefix   netip.Prefix
	Ports    []uint16
	Protocol string
}

// Packets drops ingress packets from sources on interfaces.
type Packets struct {
	Interfaces []string
	Drop       []PrefixRule
}

// PrefixRule is a source prefix to drop.
type PrefixRule struct {
	Entry
	Prefix netip.Prefix
}

// ModuleRule blocks kernel module loading: every load, or, with Allow,
// every load of a module file the allowlist does not approve.
type ModuleRule struct {
	Entry
	Allow []ModuleAllow
}

// ModuleAllow approves module files, by one of: Module (the file that the
// running kernel's modules.dep names for the module, as it is when the
// policy is applied), SHA256 (any file under the kernel's module
// directory with that content) or Signer (any file there whose appended
// signature names that signer: the common name of the signing key's
// issuer, as modinfo prints it). The kernel then matches the files by
// device and inode, never by the name a loader gives.
type ModuleAllow struct {
	Entry
	Module, SHA256, Signer string
}

// RulesName is the policy the rules with a kill or deny action become;
// policy files may not use it.
const RulesName = "rules"

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,54}[a-z0-9])?$`)

// ValidName says why name cannot name a policy, or nil.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%q is not a policy name: want 1–56 lower-case letters, digits, '.', '_' or '-', starting and ending with a letter or digit", name)
	}
	return nil
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidSHA256 says why s is not a SHA-256 in lower-case hex, or nil.
func ValidSHA256(s string) error {
	if !sha256RE.MatchString(s) {
		return fmt.Errorf("%q is not a SHA-256: want 64 lower-case hex digits", s)
	}
	return nil
}

// Empty reports whether the policy asks for nothing.
func (p *Policy) Empty() bool {
	return len(p.Exec.Deny) == 0 && len(p.Exec.DenySHA256) == 0 && len(p.Files) == 0 &&
		len(p.Connect) == 0 && len(p.Bind) == 0 && len(p.Packets.Drop) == 0 && p.Modules == nil
}

// describePods says which pods a scope chooses, for status and errors:
// "pods in prod, dev with app=web, tier In (a, b); containers nginx".
func describePods(p *selector.Pods) string {
	s := "pods"
	if len(p.Namespaces) > 0 {
		s += " in " + strings.Join(p.Namespaces, ", ")
	}
	if sel := p.PodSelector; sel != nil {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(sel.MatchLabels)) {
			parts = append(parts, k+"="+sel.MatchLabels[k])
		}
		for _, r := range sel.MatchExpressions {
			part := r.Key + " " + string(r.Operator)
			if len(r.Values) > 0 {
				part += " (" + strings.Join(r.Values, ", ") + ")"
			}
			parts = append(parts, part)
		}
		if len(parts) > 0 {
			s += " with " + strings.Join(parts, ", ")
		}
	}
	if len(p.Containers) > 0 {
		s += "; containers " + strings.Join(p.Containers, ", ")
	}
	return s
}
