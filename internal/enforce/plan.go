package enforce

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/enforce/modguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/kmod"
	"github.com/vigil-sec/vigil/internal/policy"
)

// Inode names a file as the kernel does: its superblock's s_dev
// (major<<20 | minor) and its inode number.
type Inode struct{ Dev, Ino uint64 }

// Resolver is what planning asks of the file system and the cgroup tree.
type Resolver interface {
	// ExecInode resolves a binary's path, following symlinks, to the
	// inode exec sees.
	ExecInode(path string) (Inode, error)
	// FileInode resolves a protected path to the inode opens see.
	FileInode(path string) (ino Inode, dir bool, err error)
	// Cgroup returns the id of a policy scope's cgroup v2: a cgroup
	// directory, or the cgroup of a container.
	Cgroup(scope policy.Scope) (id uint64, err error)
	// ModuleFiles are the module files an allowlist may approve: those
	// the running kernel's modules.dep lists, hashed; and what could not
	// be read.
	ModuleFiles() ([]kmod.Candidate, []string)
}

// entryRef names what an entry of the kernel's maps stands for, per policy
// number, so that a record the kernel writes can be told in words.
type entryRef struct {
	policy string
	entry  policy.Entry
	detail string // "/usr/bin/nc", "10.0.0.0/8 port 22/tcp", …
}

// FileEntry is the kernel's view of a protected file or directory.
type FileEntry struct {
	Subtree     bool
	Write, Read pinned.Verdict
}

// NetEntry is one (prefix, port, protocol) the kernel refuses.
type NetEntry struct {
	Prefix   netip.Prefix // invalid: any address
	Port     uint16       // 0: any port
	Protocol string       // "tcp", "udp", "": both
	Verdict  pinned.Verdict
}

// Unresolved is an entry whose path does not exist (yet): it is checked
// again from time to time and whenever the agent sees the path change.
type Unresolved struct {
	Policy string
	Entry  policy.Entry
	Path   string
	Err    error
}

// Plan is the kernel state a set of policies asks for, and how to name
// what the kernel reports back.
type Plan struct {
	Policies []policy.Policy // by number; a zero Name is a free number
	Host     uint64
	HashHold uint64
	// Scopes are the static scopes (cgroup and container): cgroup v2 id →
	// policies. Pods are the policies scoped to Kubernetes pods, whose
	// cgroups the Enforcer adds as the pods come and go.
	Scopes   map[uint64]uint64
	Pods     uint64
	ExecDeny map[Inode]pinned.Verdict
	// Hashes are binaries denied by content: SHA-256 → verdict.
	Hashes  map[string]pinned.Verdict
	Files   map[Inode]FileEntry
	Connect []NetEntry
	Bind    []NetEntry
	// Drops are packet sources; Interfaces where they are dropped.
	Drops      map[netip.Prefix]pinned.Verdict
	Interfaces []string
	Modules    pinned.Verdict
	// ModuleAllow are the module files allowlists approve, and
	// ModuleProblems what kept an allowlist entry from approving any.
	ModuleAllow    map[modguard.File]modguard.Approval
	ModuleProblems []string
	// DenyPaths are the exec deny paths, watched for replacement.
	DenyPaths  map[string]bool
	Unresolved []Unresolved

	// execSince is when each exec_deny inode was first written to the
	// kernel: an exec before that was not the kernel's to kill
	execSince map[Inode]time.Time
	execNames map[Inode][]entryRef
	hashNames map[string][]entryRef
	fileNames map[Inode][]entryRef
	netNames  map[netKey][]entryRef
	dropNames map[netip.Prefix][]entryRef
	// netVerdicts are Connect and Bind by key; execBase and
	// execBaseNames are ExecDeny before the learned copies were added
	// (replan.go starts from them)
	netVerdicts   map[netKey]pinned.Verdict
	execBase      map[Inode]pinned.Verdict
	execBaseNames map[Inode][]entryRef
	modNames      []entryRef
}

type netKey struct {
	bind     bool
	prefix   netip.Prefix
	port     uint16
	protocol string
}

// Numbers assigns each policy a kernel number, keeping the numbers the
// pinned state already gave to the same names (so a restarted agent adopts
// its entries without a gap) and reusing freed ones.
func Numbers(policies []policy.Policy, held []pinned.Slot) (map[string]int, error) {
	if len(policies) > pinned.MaxPolicies {
		return nil, fmt.Errorf("%d policies: the kernel tells at most %d apart", len(policies), pinned.MaxPolicies)
	}
	want := make(map[string]bool, len(policies))
	for _, p := range policies {
		want[p.Name] = true
	}
	out := make(map[string]int, len(policies))
	used := make(map[int]bool)
	for _, s := range held {
		if want[s.Name] {
			out[s.Name] = s.Number
			used[s.Number] = true
		}
	}
	next := 0
	for _, p := range policies {
		if _, ok := out[p.Name]; ok {
			continue
		}
		for used[next] {
			next++
		}
		out[p.Name] = next
		used[next] = true
	}
	return out, nil
}

// NewPlan computes the kernel state for policies numbered by numbers.
// Scopes that cannot be resolved are errors (the whole set is refused);
// paths that do not exist are Unresolved (policies may name binaries that
// are not installed yet).
func NewPlan(policies []policy.Policy, numbers map[string]int, r Resolver) (*Plan, error) {
	pl := &Plan{
		Policies:  make([]policy.Policy, pinned.MaxPolicies),
		Scopes:    map[uint64]uint64{},
		ExecDeny:  map[Inode]pinned.Verdict{},
		Hashes:    map[string]pinned.Verdict{},
		Files:     map[Inode]FileEntry{},
		Drops:     map[netip.Prefix]pinned.Verdict{},
		DenyPaths: map[string]bool{},

		ModuleAllow: map[modguard.File]modguard.Approval{},
		execSince:   map[Inode]time.Time{},
		execNames:   map[Inode][]entryRef{},
		hashNames:   map[string][]entryRef{},
		fileNames:   map[Inode][]entryRef{},
		netNames:    map[netKey][]entryRef{},
		dropNames:   map[netip.Prefix][]entryRef{},
	}
	pl.netVerdicts = map[netKey]pinned.Verdict{}
	ifaces := map[string]bool{}
	var files []kmod.Candidate // read once, for the first allowlist
	for _, p := range policies {
		n, ok := numbers[p.Name]
		if !ok {
			return nil, fmt.Errorf("policy %s has no number", p.Name)
		}
		pl.Policies[n] = p
		bit := uint64(1) << n
		switch {
		case p.Scope.Host():
			pl.Host |= bit
		case p.Scope.Pods != nil:
			// dynamic: the cgroups of the pods it chooses, as they come
			// and go (pods.go)
			pl.Pods |= bit
		default:
			id, err := r.Cgroup(p.Scope)
			if err != nil {
				return nil, fmt.Errorf("%s: policy %s: scope %s: %w", p.Source, p.Name, p.Scope, err)
			}
			pl.Scopes[id] |= bit
		}
		add, ref := adders(p, bit)

		for _, d := range p.Exec.Deny {
			pl.DenyPaths[d.Path] = true
			ino, err := r.ExecInode(d.Path)
			if err != nil {
				pl.Unresolved = append(pl.Unresolved, Unresolved{Policy: p.Name, Entry: d.Entry, Path: d.Path, Err: err})
				continue
			}
			pl.ExecDeny[ino] = add(pl.ExecDeny[ino])
			pl.execNames[ino] = append(pl.execNames[ino], ref(d.Entry, d.Path))
		}
		pl.addHashes(p, bit, add, ref)
		for _, f := range p.Files {
			ino, dir, err := r.FileInode(f.Path)
			if err != nil {
				pl.Unresolved = append(pl.Unresolved, Unresolved{Policy: p.Name, Entry: f.Entry, Path: f.Path, Err: err})
				continue
			}
			fe := pl.Files[ino]
			fe.Subtree = fe.Subtree || dir
			if f.Access == policy.AccessWrite || f.Access == policy.AccessAny {
				fe.Write = add(fe.Write)
			}
			if f.Access == policy.AccessRead || f.Access == policy.AccessAny {
				fe.Read = add(fe.Read)
			}
			pl.Files[ino] = fe
			pl.fileNames[ino] = append(pl.fileNames[ino], ref(f.Entry, f.Path))
		}
		pl.addNet(p, add, ref, nil)
		for _, i := range p.Packets.Interfaces {
			ifaces[i] = true
		}
		if p.Modules != nil {
			pl.Modules = add(pl.Modules)
			what := "kernel module loading"
			if len(p.Modules.Allow) > 0 {
				what = "loading a kernel module its allowlist does not approve"
				if files == nil {
					var problems []string
					files, problems = r.ModuleFiles()
					pl.ModuleProblems = append(pl.ModuleProblems, problems...)
				}
				pl.approveModules(p, bit, files)
			}
			pl.modNames = append(pl.modNames, ref(p.Modules.Entry, what))
		}
	}
	for k, v := range pl.netVerdicts {
		e := NetEntry{Prefix: k.prefix, Port: k.port, Protocol: k.protocol, Verdict: v}
		if k.bind {
			pl.Bind = append(pl.Bind, e)
		} else {
			pl.Connect = append(pl.Connect, e)
		}
	}
	for _, list := range [][]NetEntry{pl.Connect, pl.Bind} {
		// by fields, not by their description: an intel feed's million
		// entries would format two strings per comparison
		slices.SortFunc(list, compareNetEntries)
	}
	for i := range ifaces {
		pl.Interfaces = append(pl.Interfaces, i)
	}
	sort.Strings(pl.Interfaces)
	return pl, nil
}

// adders are what NewPlan adds for policy p, number bit: add gives a
// verdict p's bit in its mode, ref names an entry of p.
func adders(p policy.Policy, bit uint64) (add func(pinned.Verdict) pinned.Verdict, ref func(policy.Entry, string) entryRef) {
	add = func(v pinned.Verdict) pinned.Verdict {
		if p.Mode == policy.Enforce {
			v.Enforce |= bit
		} else {
			v.Monitor |= bit
		}
		return v
	}
	ref = func(e policy.Entry, detail string) entryRef {
		return entryRef{policy: p.Name, entry: e, detail: detail}
	}
	return add, ref
}

// hashPolicies are the policies that deny binaries by hash, by bit.
func (pl *Plan) hashPolicies() uint64 {
	var mask uint64
	for n, p := range pl.Policies {
		if p.Name != "" && len(p.Exec.DenySHA256) > 0 {
			mask |= 1 << n
		}
	}
	return mask
}

// addHashes adds p's sha256 digests for its bit.
func (pl *Plan) addHashes(p policy.Policy, bit uint64, add func(pinned.Verdict) pinned.Verdict,
	ref func(policy.Entry, string) entryRef) {
	for _, h := range p.Exec.DenySHA256 {
		pl.Hashes[h.SHA256] = add(pl.Hashes[h.SHA256])
		pl.hashNames[h.SHA256] = append(pl.hashNames[h.SHA256], ref(h.Entry, "sha256 "+h.SHA256))
	}
	if p.Exec.HoldUnknown && len(p.Exec.DenySHA256) > 0 {
		pl.HashHold |= bit
	}
}

// addNet adds p's connect and bind rules to netVerdicts and its packet
// sources to Drops; touched, when given, collects the keys it wrote.
func (pl *Plan) addNet(p policy.Policy, add func(pinned.Verdict) pinned.Verdict,
	ref func(policy.Entry, string) entryRef, touched map[netKey]bool) {
	for _, list := range []struct {
		rules []policy.NetRule
		bind  bool
	}{{p.Connect, false}, {p.Bind, true}} {
		for _, nr := range list.rules {
			ports := nr.Ports
			if len(ports) == 0 {
				ports = []uint16{0}
			}
			for _, port := range ports {
				k := netKey{bind: list.bind, prefix: nr.Prefix, port: port, protocol: nr.Protocol}
				pl.netVerdicts[k] = add(pl.netVerdicts[k])
				pl.netNames[k] = append(pl.netNames[k], ref(nr.Entry, describeNet(k)))
				if touched != nil {
					touched[k] = true
				}
			}
		}
	}
	for _, d := range p.Packets.Drop {
		pl.Drops[d.Prefix] = add(pl.Drops[d.Prefix])
		pl.dropNames[d.Prefix] = append(pl.dropNames[d.Prefix], ref(d.Entry, d.Prefix.String()))
	}
}

func compareNetEntries(a, b NetEntry) int {
	if a.Prefix.IsValid() != b.Prefix.IsValid() {
		return cmp.Compare(boolInt(a.Prefix.IsValid()), boolInt(b.Prefix.IsValid()))
	}
	return cmp.Or(a.Prefix.Addr().Compare(b.Prefix.Addr()), cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()),
		cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// approveModules adds the files p's allowlist approves for policy bit.
func (pl *Plan) approveModules(p policy.Policy, bit uint64, files []kmod.Candidate) {
	for _, a := range p.Modules.Allow {
		n := 0
		for _, f := range files {
			switch {
			case a.Module != "" && f.Name == strings.ReplaceAll(a.Module, "-", "_"):
			case a.SHA256 != "" && f.SHA256 == a.SHA256:
			case a.Signer != "" && f.Signer == a.Signer:
			default:
				continue
			}
			n++
			k := modguard.File{Dev: uint32(f.Dev), Ino: f.Ino}
			ap := pl.ModuleAllow[k]
			ap.Policies |= bit
			ap.Size, ap.CtimeSec, ap.CtimeNsec = f.Size, f.CtimeSec, f.CtimeNsec
			pl.ModuleAllow[k] = ap
		}
		if n == 0 {
			pl.ModuleProblems = append(pl.ModuleProblems, fmt.Sprintf("%s: policy %s: %s approves no module file of this kernel",
				a.Source, p.Name, a.Name))
		}
	}
}

func describeNet(k netKey) string {
	return describeNetEntry(NetEntry{Prefix: k.prefix, Port: k.port, Protocol: k.protocol})
}

func describeNetEntry(e NetEntry) string {
	s := "any address"
	if e.Prefix.IsValid() {
		s = e.Prefix.String()
	}
	if e.Port != 0 {
		s += fmt.Sprintf(" port %d", e.Port)
	}
	if e.Protocol != "" {
		s += "/" + e.Protocol
	}
	return s
}

// empty reports whether the plan holds no policy.
func (pl *Plan) empty() bool {
	for _, p := range pl.Policies {
		if p.Name != "" {
			return false
		}
	}
	return true
}

// learnedCopy is a binary found by its hash: a copy of a denied one.
type learnedCopy struct {
	sha256 string
	path   string // where it was executed from, to tell when it is gone
}

// addLearned denies the inodes of the copies found so far, with their
// hash's verdict, as long as the hash is still denied and the path still
// names that inode (an inode number freed and given to another file must
// not stay denied). It returns the copies that still hold.
func (pl *Plan) addLearned(learned map[Inode]learnedCopy, r Resolver) map[Inode]learnedCopy {
	pl.execBase, pl.execBaseNames = maps.Clone(pl.ExecDeny), maps.Clone(pl.execNames)
	keep := make(map[Inode]learnedCopy, len(learned))
	for ino, l := range learned {
		v, denied := pl.Hashes[l.sha256]
		if !denied {
			continue
		}
		if now, err := r.ExecInode(l.path); err != nil || now != ino {
			continue
		}
		old := pl.ExecDeny[ino]
		pl.ExecDeny[ino] = pinned.Verdict{Enforce: old.Enforce | v.Enforce, Monitor: old.Monitor | v.Monitor}
		pl.execNames[ino] = append(pl.execNames[ino], pl.hashNames[l.sha256]...)
		keep[ino] = l
	}
	return keep
}

// Slots is what the pinned state should say about the numbers.
func (pl *Plan) Slots() []pinned.Slot {
	var out []pinned.Slot
	for n, p := range pl.Policies {
		if p.Name != "" {
			out = append(out, pinned.Slot{Number: n, Name: p.Name, Enforce: p.Mode == policy.Enforce})
		}
	}
	return out
}
