// Package seccomp turns the system calls a workload was seen to make into
// an OCI / Docker seccomp profile, and says what the profile may lack: calls
// made before recording started, numbers without a name, calls the
// recorder could not keep. It is pure: the numbers come from
// internal/observe/syscalls, the names from the kernel's uapi headers
// (names_<arch>.go, generated).
package seccomp

import (
	"fmt"
	"slices"
	"strings"
)

// Arch is a calling convention, as seccomp names architectures.
type Arch string

// The x86-64 kernel's three ways into a system call.
const (
	ArchX86_64 Arch = "SCMP_ARCH_X86_64" // the syscall instruction
	ArchX32    Arch = "SCMP_ARCH_X32"    // syscall with __X32_SYSCALL_BIT
	ArchX86    Arch = "SCMP_ARCH_X86"    // int $0x80 / sysenter: ia32 compat
)

// Arches are the architectures in the order a profile lists them.
var Arches = []Arch{ArchX86_64, ArchX86, ArchX32}

// Name is the name of call nr of arch, or "" when the table (Linux 6.1's
// headers) has none.
func Name(arch Arch, nr int) string {
	switch arch {
	case ArchX86_64:
		return namesX86_64[nr]
	case ArchX32:
		return namesX32[nr]
	case ArchX86:
		return namesI386[nr]
	}
	return ""
}

// Number is the number of the call named name on arch; ok is false when
// arch has no such call.
func Number(arch Arch, name string) (nr int, ok bool) {
	var table map[int]string
	switch arch {
	case ArchX86_64:
		table = namesX86_64
	case ArchX32:
		table = namesX32
	case ArchX86:
		table = namesI386
	}
	for n, s := range table {
		if s == name {
			return n, true
		}
	}
	return 0, false
}

// Action is a seccomp action as OCI profiles spell it.
type Action string

// The actions a generated profile uses.
const (
	ActAllow Action = "SCMP_ACT_ALLOW"
	ActErrno Action = "SCMP_ACT_ERRNO"
	ActLog   Action = "SCMP_ACT_LOG"
)

// Profile is an OCI runtime-spec linux.seccomp object, which is also the
// shape of a Docker --security-opt seccomp=FILE profile.
type Profile struct {
	DefaultAction   Action `json:"defaultAction"`
	DefaultErrnoRet *uint  `json:"defaultErrnoRet,omitempty"`
	Architectures   []Arch `json:"architectures"`
	Syscalls        []Rule `json:"syscalls"`
}

// Rule is one entry of a profile's syscalls list.
type Rule struct {
	Names  []string `json:"names"`
	Action Action   `json:"action"`
}

// Observed is what was recorded: call numbers by architecture.
type Observed map[Arch][]int

// Options say how to build a profile.
type Options struct {
	// Log makes the default action SCMP_ACT_LOG (allow and log what the
	// profile would refuse) instead of SCMP_ACT_ERRNO.
	Log bool
	// Errno is what a refused call returns (EPERM, 1, unless set).
	Errno uint
	// Runtime adds the calls a container runtime makes after it has
	// installed the filter (RuntimeCalls): needed whenever recording
	// started after the container's process did.
	Runtime bool
}

// Unknown is a recorded call number the name table has no name for: a
// profile cannot allow it by name, so the workload may break on it.
type Unknown struct {
	Arch Arch
	Nr   int
}

func (u Unknown) String() string { return fmt.Sprintf("%s %d", u.Arch, u.Nr) }

// Build makes the profile of obs: every observed call of every observed
// architecture allowed, everything else refused (or logged). The OCI
// format has one list of names for all listed architectures, so a name
// seen on one architecture is allowed on every architecture listed; an
// architecture never seen is not listed, and the kernel refuses its calls.
// It returns the calls it could not name.
func Build(obs Observed, o Options) (*Profile, []Unknown) {
	p := &Profile{DefaultAction: ActErrno, Syscalls: []Rule{}}
	if o.Log {
		p.DefaultAction = ActLog
	} else {
		errno := o.Errno
		if errno == 0 {
			errno = 1 // EPERM
		}
		p.DefaultErrnoRet = &errno
	}
	names := map[string]bool{}
	var unknown []Unknown
	for _, arch := range Arches {
		nrs := obs[arch]
		if len(nrs) == 0 && arch != ArchX86_64 {
			continue
		}
		p.Architectures = append(p.Architectures, arch)
		for _, nr := range nrs {
			if n := Name(arch, nr); n != "" {
				names[n] = true
			} else {
				unknown = append(unknown, Unknown{arch, nr})
			}
		}
	}
	if o.Runtime {
		for _, n := range RuntimeCalls {
			names[n] = true
		}
	}
	if len(names) > 0 {
		list := make([]string, 0, len(names))
		for n := range names {
			list = append(list, n)
		}
		slices.Sort(list)
		p.Syscalls = append(p.Syscalls, Rule{Names: list, Action: ActAllow})
	}
	return p, unknown
}

// Allows reports whether p allows the call named name.
func (p *Profile) Allows(name string) bool {
	for _, r := range p.Syscalls {
		if r.Action == ActAllow && slices.Contains(r.Names, name) {
			return true
		}
	}
	return false
}

// Describe lists obs as "arch: name name …" lines, for a report.
func Describe(obs Observed) string {
	var b strings.Builder
	for _, arch := range Arches {
		if len(obs[arch]) == 0 {
			continue
		}
		names := make([]string, 0, len(obs[arch]))
		for _, nr := range obs[arch] {
			n := Name(arch, nr)
			if n == "" {
				n = fmt.Sprintf("#%d", nr)
			}
			names = append(names, n)
		}
		fmt.Fprintf(&b, "%s (%d): %s\n", arch, len(names), strings.Join(names, " "))
	}
	return b.String()
}
