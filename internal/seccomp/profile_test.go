package seccomp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestNameTables: a few calls whose numbers differ between conventions, as
// the uapi headers give them.
func TestNameTables(t *testing.T) {
	for _, c := range []struct {
		arch Arch
		nr   int
		name string
	}{
		{ArchX86_64, 0, "read"}, {ArchX86_64, 59, "execve"}, {ArchX86_64, 101, "ptrace"},
		{ArchX86, 11, "execve"}, {ArchX86, 26, "ptrace"}, {ArchX86, 102, "socketcall"},
		{ArchX32, 0, "read"}, {ArchX32, 520, "execve"}, {ArchX32, 521, "ptrace"},
	} {
		if got := Name(c.arch, c.nr); got != c.name {
			t.Errorf("Name(%s, %d) = %q, want %q", c.arch, c.nr, got, c.name)
		}
		if nr, ok := Number(c.arch, c.name); !ok || nr != c.nr {
			t.Errorf("Number(%s, %q) = %d, %v, want %d", c.arch, c.name, nr, ok, c.nr)
		}
	}
	if n := Name(ArchX86_64, 462); n != "" {
		t.Errorf("462 (mseal, Linux 6.10) has the name %q in a 6.1 table", n)
	}
}

func TestBuildErrno(t *testing.T) {
	p, unknown := Build(Observed{ArchX86_64: {0, 1, 59, 462}}, Options{})
	if p.DefaultAction != ActErrno || p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != 1 {
		t.Errorf("default %s errno %v, want SCMP_ACT_ERRNO with EPERM (1)", p.DefaultAction, p.DefaultErrnoRet)
	}
	if !slices.Equal(p.Architectures, []Arch{ArchX86_64}) {
		t.Errorf("architectures %v, want x86-64 only", p.Architectures)
	}
	if len(p.Syscalls) != 1 || !slices.Equal(p.Syscalls[0].Names, []string{"execve", "read", "write"}) || p.Syscalls[0].Action != ActAllow {
		t.Errorf("syscalls %+v, want execve read write allowed", p.Syscalls)
	}
	if len(unknown) != 1 || unknown[0] != (Unknown{ArchX86_64, 462}) {
		t.Errorf("unknown %v, want [x86-64 462]", unknown)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["execve","read","write"],"action":"SCMP_ACT_ALLOW"}]}`
	if string(raw) != want {
		t.Errorf("JSON\n%s\nwant\n%s", raw, want)
	}
}

func TestBuildLogConventionsRuntime(t *testing.T) {
	p, unknown := Build(Observed{ArchX86_64: {0}, ArchX86: {26}, ArchX32: {521}}, Options{Log: true, Errno: 13, Runtime: true})
	if p.DefaultAction != ActLog || p.DefaultErrnoRet != nil {
		t.Errorf("default %s errno %v, want SCMP_ACT_LOG and no errno", p.DefaultAction, p.DefaultErrnoRet)
	}
	if !slices.Equal(p.Architectures, []Arch{ArchX86_64, ArchX86, ArchX32}) {
		t.Errorf("architectures %v, want all three", p.Architectures)
	}
	if len(unknown) != 0 {
		t.Errorf("unknown %v", unknown)
	}
	for _, n := range append([]string{"read", "ptrace"}, RuntimeCalls...) {
		if !p.Allows(n) {
			t.Errorf("%s not allowed", n)
		}
	}
	if p.Allows("mount") {
		t.Error("mount allowed")
	}
	names := p.Syscalls[0].Names
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("names not sorted and unique: %v", names)
	}
}

func TestBuildNothingSeen(t *testing.T) {
	p, _ := Build(Observed{}, Options{Errno: 38})
	if len(p.Syscalls) != 0 || *p.DefaultErrnoRet != 38 || !slices.Equal(p.Architectures, []Arch{ArchX86_64}) {
		t.Errorf("empty profile %+v", p)
	}
	raw, _ := json.Marshal(p)
	if !strings.Contains(string(raw), `"syscalls":[]`) {
		t.Errorf("an empty list must stay a list: %s", raw)
	}
}

func TestDescribe(t *testing.T) {
	got := Describe(Observed{ArchX86_64: {59, 1000}, ArchX86: {11}})
	want := "SCMP_ARCH_X86_64 (2): execve #1000\nSCMP_ARCH_X86 (1): execve\n"
	if got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}
