package enforce

import (
	"errors"
	"testing"

	"github.com/vigil-sec/vigil/internal/enforce/modguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/kmod"
	"github.com/vigil-sec/vigil/internal/policy"
)

// fakeResolver names files by a table.
type fakeResolver map[string]Inode

func (f fakeResolver) ExecInode(path string) (Inode, error) {
	if ino, ok := f[path]; ok {
		return ino, nil
	}
	return Inode{}, errors.New("no such file")
}
func (f fakeResolver) FileInode(path string) (Inode, bool, error) {
	ino, err := f.ExecInode(path)
	return ino, false, err
}
func (fakeResolver) Cgroup(policy.Scope) (uint64, error) { return 7, nil }

// ModuleFiles are the kmod fixture tree's.
func (fakeResolver) ModuleFiles() ([]kmod.Candidate, []string) {
	return kmod.Candidates("../kmod/testdata/root", "")
}

// TestLearnedCopiesFollowTheirFiles: a copy found by its hash stays denied
// while its hash is denied and its path still names its inode; a path now
// naming another inode (the copy was removed, the number may be reused) or
// a hash no policy denies any more drops it.
func TestLearnedCopiesFollowTheirFiles(t *testing.T) {
	const sum = "1111111111111111111111111111111111111111111111111111111111111111"
	ps := []policy.Policy{{Name: "p", Mode: policy.Enforce,
		Exec: policy.Exec{DenySHA256: []policy.HashRule{{Entry: policy.Entry{Name: "by-hash"}, SHA256: sum}}}}}
	r := fakeResolver{"/tmp/copy": {Dev: 1, Ino: 10}, "/tmp/moved": {Dev: 1, Ino: 99}}
	learned := map[Inode]learnedCopy{
		{Dev: 1, Ino: 10}: {sha256: sum, path: "/tmp/copy"},
		{Dev: 1, Ino: 20}: {sha256: sum, path: "/tmp/moved"}, // the path names 99 now
		{Dev: 1, Ino: 30}: {sha256: sum, path: "/tmp/gone"},
		{Dev: 1, Ino: 40}: {sha256: "22", path: "/tmp/copy"},
	}
	pl, err := NewPlan(ps, map[string]int{"p": 3}, r)
	if err != nil {
		t.Fatal(err)
	}
	keep := pl.addLearned(learned, r)
	if len(keep) != 1 || keep[Inode{Dev: 1, Ino: 10}].path != "/tmp/copy" {
		t.Fatalf("kept %+v, want only the copy still at its path", keep)
	}
	if v := pl.ExecDeny[Inode{Dev: 1, Ino: 10}]; v != (pinned.Verdict{Enforce: 1 << 3}) {
		t.Errorf("copy's verdict = %+v", v)
	}
	if len(pl.ExecDeny) != 1 {
		t.Errorf("exec_deny = %+v, want the one copy", pl.ExecDeny)
	}
	if refs := pl.execNames[Inode{Dev: 1, Ino: 10}]; len(refs) != 1 || refs[0].entry.Name != "by-hash" {
		t.Errorf("the copy is named %+v", refs)
	}
}

// TestNumbersAdoptAndReuse: a name keeps the number the pinned state gave
// it; a new name takes the lowest free one; more than 64 is an error.
func TestNumbersAdoptAndReuse(t *testing.T) {
	ps := []policy.Policy{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	n, err := Numbers(ps, []pinned.Slot{{Number: 5, Name: "b"}, {Number: 0, Name: "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	if n["b"] != 5 || n["a"] != 0 || n["c"] != 1 {
		t.Errorf("numbers = %v, want b kept at 5, a and c at 0 and 1", n)
	}
	many := make([]policy.Policy, 65)
	for i := range many {
		many[i].Name = string(rune('a'+i%26)) + itoa(uint32(i))
	}
	if _, err := Numbers(many, nil); err == nil {
		t.Error("65 policies were given numbers")
	}
}

// TestPlanMergesVerdicts: two policies on one entry, one enforcing and one
// monitoring, make one entry with both bits; scoped policies go to their
// cgroup, host-wide ones to the host mask; ports expand per entry.
func TestPlanMergesVerdicts(t *testing.T) {
	bin := Inode{Dev: 1, Ino: 2}
	r := fakeResolver{"/usr/bin/nc": bin}
	deny := policy.Exec{Deny: []policy.PathRule{{Entry: policy.Entry{Name: "nc"}, Path: "/usr/bin/nc"}}}
	ps := []policy.Policy{
		{Name: "host", Mode: policy.Enforce, Exec: deny},
		{Name: "watch", Mode: policy.Monitor, Exec: deny, Scope: policy.Scope{Cgroup: "app"},
			Connect: []policy.NetRule{{Entry: policy.Entry{Name: "ports"}, Ports: []uint16{22, 23}, Protocol: "tcp"}}},
	}
	pl, err := NewPlan(ps, map[string]int{"host": 0, "watch": 4}, r)
	if err != nil {
		t.Fatal(err)
	}
	if v := pl.ExecDeny[bin]; v != (pinned.Verdict{Enforce: 1, Monitor: 1 << 4}) {
		t.Errorf("merged verdict = %+v", v)
	}
	if pl.Host != 1 || pl.Scopes[7] != 1<<4 {
		t.Errorf("host %b, scopes %v", pl.Host, pl.Scopes)
	}
	if len(pl.Connect) != 2 || pl.Connect[0].Port != 22 || pl.Connect[1].Port != 23 || pl.Connect[0].Verdict.Monitor != 1<<4 {
		t.Errorf("connect = %+v", pl.Connect)
	}
	if refs := pl.execNames[bin]; len(refs) != 2 {
		t.Errorf("names of the entry = %+v, want one per policy", refs)
	}
	if got := pl.Slots(); len(got) != 2 || got[1] != (pinned.Slot{Number: 4, Name: "watch"}) {
		t.Errorf("slots = %+v", got)
	}
}

// TestPlanApprovesModuleFiles: an allowlist's entries approve the files of
// the kernel's module directory (the kmod fixture tree's) by module
// name, hash and signer, each by its inode for the policy's bit; an entry
// that approves nothing is a problem, named.
func TestPlanApprovesModuleFiles(t *testing.T) {
	files, _ := fakeResolver{}.ModuleFiles()
	byName := map[string]kmod.Candidate{}
	for _, f := range files {
		byName[f.Name] = f
	}
	ps := []policy.Policy{{Name: "mods", Mode: policy.Enforce, Modules: &policy.ModuleRule{Allow: []policy.ModuleAllow{
		{Module: "vh-unsigned"},
		{SHA256: byName["vh_outoftree"].SHA256},
		{Signer: "vigil fixture signing key"},
		{Entry: policy.Entry{Name: "nothing", Source: "m.yaml:9"}, Signer: "someone else"},
	}}}}
	pl, err := NewPlan(ps, map[string]int{"mods": 3}, fakeResolver{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"vh_unsigned": true, "vh_outoftree": true, "vh_signed": true}
	if len(pl.ModuleAllow) != len(want) {
		t.Errorf("%d files approved, want %d: %+v", len(pl.ModuleAllow), len(want), pl.ModuleAllow)
	}
	for name := range want {
		f := byName[name]
		a, ok := pl.ModuleAllow[modguard.File{Dev: uint32(f.Dev), Ino: f.Ino}]
		if !ok || a.Policies != 1<<3 || a.Size != f.Size || a.CtimeSec != f.CtimeSec {
			t.Errorf("%s: approval %+v (%v), want policy 3's with its size and change time", name, a, ok)
		}
	}
	if pl.Modules.Enforce != 1<<3 || len(pl.ModuleProblems) != 2 ||
		pl.ModuleProblems[1] != "m.yaml:9: policy mods: nothing approves no module file of this kernel" {
		t.Errorf("verdict %+v, problems %q", pl.Modules, pl.ModuleProblems)
	}
}
