// Package enforcetest is the machinery the enforcement packages' kernel
// tests share: a pin directory with the pinned state opened on it, a test
// cgroup that policies are scoped to, a private ring read into memory,
// helper processes started in the cgroup, and fuzz seeds captured from the
// records the kernel wrote. It is imported only by tests; what is
// particular to one guard stays in that guard's tests.
package enforcetest

import (
	"os"
	"testing"

	"github.com/vigil-sec/vigil/internal/enforce/pinned"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// Env is what a guard's kernel test runs against: a pin directory of its
// own, the pinned state opened on it, and a cgroup of its own.
type Env struct {
	tb       testing.TB
	Dir      string
	State    *pinned.State
	Cgroup   testenv.Cgroup
	CgroupID uint64
}

// NewEnv checks that the test may load programs (testenv.RequirePrivileged)
// and makes its environment; all of it goes when the test ends.
func NewEnv(tb testing.TB) *Env {
	tb.Helper()
	testenv.RequirePrivileged(tb)
	e := &Env{tb: tb, Dir: testenv.PinDir(tb), Cgroup: testenv.NewCgroup(tb)}
	var err error
	if e.CgroupID, err = kernel.CgroupID(e.Cgroup.Path); err != nil {
		tb.Fatal(err)
	}
	if e.State, err = pinned.Open(e.Dir); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.State.Close() })
	return e
}

// Scope makes the test's cgroup, and nothing else, the scope of the
// policies in mask (enforcing or monitoring, as their entries say) and of
// the hash-hold policies in hold.
func (e *Env) Scope(mask, hold uint64) {
	e.tb.Helper()
	if err := e.State.SetPolicies(0, hold, true); err != nil {
		e.tb.Fatal(err)
	}
	if err := e.State.SetScopes(map[uint64]uint64{e.CgroupID: mask | hold}); err != nil {
		e.tb.Fatal(err)
	}
}

// In is the test's cgroup, or nil (the helper's own cgroup: outside every
// scope) when outside is set; for Helper.
func (e *Env) In(outside bool) *testenv.Cgroup {
	if outside {
		return nil
	}
	return &e.Cgroup
}

// NewRing is a ring of the test's own with the agent's defaults, closed
// when the test ends. With agent set the test process is the agent: the
// programs never report it.
func NewRing(tb testing.TB, agent bool) *ring.Ring {
	tb.Helper()
	cfg := ring.DefaultConfig()
	if agent {
		cfg.Scope.AgentPID = uint32(os.Getpid())
	}
	r, err := ring.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}
