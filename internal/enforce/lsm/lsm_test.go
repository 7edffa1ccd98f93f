package lsm

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/enforce/execguard"
	"github.com/vigil-sec/vigil/internal/enforce/fileguard"
	"github.com/vigil-sec/vigil/internal/enforce/modguard"
	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestTierFollowsTheKernel: where the kernel runs BPF LSM programs, the
// tier loads and a denied exec fails with EPERM; where it does not (the CI
// kernel answers EPERM to every LSM program), Load says the tier is
// unavailable, wrapping ErrUnavailable, and leaves no link pinned, while
// the kill tier it reads from keeps working.
func TestTierFollowsTheKernel(t *testing.T) {
	env := enforcetest.NewEnv(t)
	dir := env.Dir
	r := enforcetest.NewRing(t, false)
	ex, err := execguard.Load(execguard.Options{Dir: dir, Ring: r})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	fg, err := fileguard.Load(fileguard.Options{PinDir: dir, Ring: r})
	if err != nil {
		t.Fatal(err)
	}
	defer fg.Close()
	mg, err := modguard.Load(modguard.Options{PinDir: dir, Ring: r})
	if err != nil {
		t.Fatal(err)
	}
	defer mg.Close()

	tier, err := Load(Options{PinDir: dir, Ring: r, ExecDeny: ex.DenyMap(), FileProtect: fg.ProtectMap(), ModBlock: mg.BlockMap()})
	haveLSM := features.HaveProgramType(ebpf.LSM) == nil
	if !haveLSM {
		if err == nil {
			tier.Close()
			t.Fatal("Load succeeded on a kernel that refuses LSM programs")
		}
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, syscall.EPERM) {
			t.Fatalf("Load: %v, want ErrUnavailable from the kernel's EPERM", err)
		}
		for _, name := range LinkNames() {
			if _, err := os.Stat(filepath.Join(dir, "links", name)); err == nil {
				t.Errorf("link %s is pinned after a failed load", name)
			}
		}
		t.Logf("tier unavailable, as the kernel says: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("the kernel runs LSM programs but the tier does not load: %v", err)
	}
	defer tier.Close()
	// a copy of true denied host-wide for this test's policy 0
	bin := enforcetest.CopyFile(t, "/bin/true", filepath.Join(t.TempDir(), "denied"))
	key, err := execguard.Resolve(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.SetDeny(map[execguard.InodeKey]pinned.Verdict{key: {Enforce: 1}}); err != nil {
		t.Fatal(err)
	}
	env.Scope(1, 0)
	if err := enforcetest.InCgroup(exec.Command(bin), env.Cgroup).Run(); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("exec of a denied binary under the LSM tier: %v, want EPERM", err)
	}
}
