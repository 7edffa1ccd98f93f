package pinned

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestPinLinkReplaces: pinning a second link under the same name leaves
// exactly the new program attached, and the pin outlives every descriptor.
func TestPinLinkReplaces(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)

	attach := func() (link.Link, ebpf.ProgramID) {
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Type:         ebpf.CGroupSKB,
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 1), asm.Return()},
			License:      "GPL",
		})
		if err != nil {
			t.Fatal(err)
		}
		defer prog.Close()
		info, _ := prog.Info()
		id, _ := info.ID()
		l, err := link.AttachCgroup(link.CgroupOptions{Path: cg.Path, Attach: ebpf.AttachCGroupInetIngress, Program: prog})
		if err != nil {
			t.Fatal(err)
		}
		return l, id
	}
	attached := func() []ebpf.ProgramID {
		res, err := link.QueryPrograms(link.QueryOptions{Target: cg.FD, Attach: ebpf.AttachCGroupInetIngress})
		if err != nil {
			t.Fatal(err)
		}
		var ids []ebpf.ProgramID
		for _, p := range res.Programs {
			ids = append(ids, p.ID)
		}
		return ids
	}

	first, id1 := attach()
	if err := PinLink(dir, "ingress", first); err != nil {
		t.Fatal(err)
	}
	first.Close()
	if got := attached(); len(got) != 1 || got[0] != id1 {
		t.Fatalf("after pinning and closing the first link: attached %v, want [%d]", got, id1)
	}

	second, id2 := attach()
	if err := PinLink(dir, "ingress", second); err != nil {
		t.Fatal(err)
	}
	second.Close()
	if got := attached(); len(got) != 1 || got[0] != id2 {
		t.Fatalf("after replacing the pin: attached %v, want [%d]", got, id2)
	}
	names, err := Links(dir)
	if err != nil || len(names) != 1 || names[0] != "ingress" {
		t.Fatalf("pinned links = %v, %v", names, err)
	}

	l, err := LoadLink(dir, "ingress")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if got := attached(); len(got) != 0 {
		t.Fatalf("after Remove: attached %v, want none", got)
	}
}
