package podscope

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// mkdirs creates dir and its missing parents, each removed (deepest
// first) when the test ends.
func mkdirs(t *testing.T, dir string) {
	t.Helper()
	var made []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		made = append(made, d)
	}
	for i := len(made) - 1; i >= 0; i-- {
		if err := os.Mkdir(made[i], 0o755); err != nil {
			t.Fatal(err)
		}
		d := made[i]
		t.Cleanup(func() {
			if err := os.Remove(d); err != nil {
				t.Errorf("remove %s: %v", d, err)
			}
		})
	}
}

func cgroupID(t *testing.T, dir string) uint64 {
	t.Helper()
	id, err := kernel.CgroupID(dir)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestMkdirScopesKnownPods: a pod cgroup created (in either driver's
// layout) for a pod user space gave bits gets them in scope_cgroups at its
// mkdir, and is recorded; so does a container's, by id, in the runtimes'
// spellings; one of a pod or container without bits, CRI-O's conmon and a
// cgroup of a v1 hierarchy are not touched.
func TestMkdirScopesKnownPods(t *testing.T) {
	env := enforcetest.NewEnv(t)
	s, err := Load(Options{PinDir: env.Dir, Ring: enforcetest.NewRing(t, true)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	const (
		podA = "11111111-2222-4333-8444-555555555555"
		podB = "66666666-7777-4888-8999-aaaaaaaaaaaa"
		podC = "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff"
	)
	if err := s.SetPods(map[string]uint64{podA: 1 << 3, podB: 1 << 5}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPods(map[string]uint64{"not-a-uid": 1}); err == nil {
		t.Error("SetPods took a malformed uid")
	}
	if err := s.SetPods(map[string]uint64{podA: 1 << 3, podB: 1 << 5}); err != nil {
		t.Fatal(err)
	}
	root := env.Cgroup.Path
	dirA := filepath.Join(root, "kubepods", "besteffort", "pod"+podA)
	dirB := filepath.Join(root, "kubepods.slice", "kubepods-burstable.slice",
		"kubepods-burstable-pod"+strings.ReplaceAll(podB, "-", "_")+".slice")
	dirC := filepath.Join(root, "kubepods", "pod"+podC)
	mkdirs(t, dirA)
	mkdirs(t, dirB)
	mkdirs(t, dirC)
	ctr := filepath.Join(dirA, "cri-containerd-"+strings.Repeat("ab", 32)+".scope")
	mkdirs(t, ctr)

	scopes, err := env.State.Scopes()
	if err != nil {
		t.Fatal(err)
	}
	idA, idB, idC := cgroupID(t, dirA), cgroupID(t, dirB), cgroupID(t, dirC)
	if scopes[idA] != 1<<3 || scopes[idB] != 1<<5 {
		t.Errorf("scope_cgroups[podA] = %#x, [podB] = %#x; want 0x8, 0x20", scopes[idA], scopes[idB])
	}
	if m, ok := scopes[idC]; ok {
		t.Errorf("a pod without policies was scoped: %#x", m)
	}
	if m, ok := scopes[cgroupID(t, ctr)]; ok {
		t.Errorf("a container's cgroup was scoped by the pod program: %#x", m)
	}
	rec, _, err := s.Recorded()
	if err != nil {
		t.Fatal(err)
	}
	if rec[idA] != podA || rec[idB] != podB {
		t.Errorf("recorded %v; want %d → %s, %d → %s", rec, idA, podA, idB, podB)
	}
	if err := s.Forget([]uint64{idA, idB}); err != nil {
		t.Fatal(err)
	}
	if rec, _, _ := s.Recorded(); len(rec) != 0 {
		t.Errorf("recorded after Forget: %v", rec)
	}

	// containers by id, in the runtimes' spellings
	cid1, cid2 := strings.Repeat("c1", 32), strings.Repeat("d2", 32)
	if err := s.SetContainers(map[string]uint64{cid1: 1 << 7, cid2: 1 << 9}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetContainers(map[string]uint64{"abc": 1}); err == nil {
		t.Error("SetContainers took a malformed id")
	}
	if err := s.SetContainers(map[string]uint64{cid1: 1 << 7, cid2: 1 << 9}); err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(dirC, cid1)
	crio := filepath.Join(dirB, "crio-"+cid2+".scope")
	conmon := filepath.Join(dirB, "crio-conmon-"+cid1+".scope")
	for _, d := range []string{bare, crio, conmon} {
		mkdirs(t, d)
	}
	scopes, err = env.State.Scopes()
	if err != nil {
		t.Fatal(err)
	}
	if scopes[cgroupID(t, bare)] != 1<<7 || scopes[cgroupID(t, crio)] != 1<<9 {
		t.Errorf("containers scoped %#x, %#x; want 0x80, 0x200", scopes[cgroupID(t, bare)], scopes[cgroupID(t, crio)])
	}
	if m, ok := scopes[cgroupID(t, conmon)]; ok {
		t.Errorf("CRI-O's conmon cgroup was scoped: %#x", m)
	}
	if _, ctrs, err := s.Recorded(); err != nil || ctrs[cgroupID(t, bare)] != cid1 || ctrs[cgroupID(t, crio)] != cid2 {
		t.Errorf("container_cgroups %v, %v", ctrs, err)
	}

	// a v1 hierarchy's cgroup of the same name is not the v2 one
	v1 := filepath.Join(filepath.Dir(env.Cgroup.Root), "pids")
	if _, err := os.Stat(filepath.Join(v1, "cgroup.procs")); err == nil {
		mkdirs(t, filepath.Join(v1, filepath.Base(env.Cgroup.Path)+"-podscope", "pod"+podA))
		if rec, _, _ := s.Recorded(); len(rec) != 0 {
			t.Errorf("a v1 cgroup was scoped: %v", rec)
		}
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Scoped < 4 || st.Seen < 6 {
		t.Errorf("stats %+v: want at least 6 pod and container cgroups seen, 4 scoped", st)
	}
}
