package enforcetest

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// ProgramIDs are the kernel's ids of progs (a guard's Programs), by name.
func ProgramIDs(tb testing.TB, progs map[string]*ebpf.Program) map[string]ebpf.ProgramID {
	tb.Helper()
	ids := make(map[string]ebpf.ProgramID, len(progs))
	for name, p := range progs {
		info, err := p.Info()
		if err != nil {
			tb.Fatal(err)
		}
		id, _ := info.ID()
		ids[name] = id
	}
	return ids
}

// WaitFreed waits until the kernel has freed the programs. The kernel
// frees an unpinned link from a work queue, a moment later, and a program
// once nothing (no link) holds it any more; the deadline only bounds a
// test that would otherwise hang.
func WaitFreed(tb testing.TB, ids map[string]ebpf.ProgramID) {
	tb.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for name, id := range ids {
		for {
			p, err := ebpf.NewProgramFromID(id)
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			if err == nil {
				p.Close()
			}
			if time.Now().After(deadline) {
				tb.Fatalf("program %s (%d) still exists after its link's pin was removed: %v", name, id, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
