package enforce

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/enforcetest"
	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/selector"
	"github.com/vigil-sec/vigil/internal/testenv"
)

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newUID is a pod uid of this test's own.
func newUID(t *testing.T) string {
	h := randomHex(t, 32)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

// mkCgroup creates a cgroup directory below the test's cgroup, removed
// when the test ends (after every process in it, which Cleanup order
// guarantees for processes started later), and opens it for InCgroup.
func mkCgroup(t *testing.T, path string) testenv.Cgroup {
	t.Helper()
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(path)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Close(fd)
		if err := os.Remove(path); err != nil {
			t.Errorf("remove cgroup %s: %v", path, err)
		}
	})
	return testenv.Cgroup{Path: path, FD: fd}
}

func cgID(t *testing.T, path string) uint64 {
	t.Helper()
	id, err := kernel.CgroupID(path)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (s *stage) scopes() map[uint64]uint64 {
	s.t.Helper()
	m, err := s.e.state.Scopes()
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

// TestPodScopedPolicies follows pods as they come, change and go, with
// cgroups laid out as the kubelet's cgroupfs driver does, below the test's
// own cgroup: a pod known before its cgroup exists is scoped by the
// kernel at the cgroup's creation, so the first exec in its container is
// killed with no user-space step between; another namespace's pod is not;
// a label change releases the pod; deletion removes its entries; a
// containerSelector covers only the named container, also from its
// cgroup's creation when its id is known first; a restarted agent keeps
// the pods' entries until the watch lists the pods; a re-applied set
// keeps them too.
func TestPodScopedPolicies(t *testing.T) {
	testenv.RequirePrivileged(t)
	dir := testenv.PinDir(t)
	cg := testenv.NewCgroup(t)
	tmp := t.TempDir()
	denied := enforcetest.CopyFile(t, "/bin/true", filepath.Join(tmp, "denied"))
	nginxOnly := enforcetest.CopyFile(t, "/bin/true", filepath.Join(tmp, "nginx-only"))

	web := policy.Policy{Name: "pods-web", Mode: policy.Enforce, Source: "test",
		Scope: policy.Scope{Pods: &selector.Pods{Namespaces: []string{"prod"},
			PodSelector: &selector.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}},
		Exec: policy.Exec{Deny: []policy.PathRule{{Entry: policy.Entry{Name: "denied"}, Path: denied}}}}
	nginx := policy.Policy{Name: "pods-nginx", Mode: policy.Enforce, Source: "test",
		Scope: policy.Scope{Pods: &selector.Pods{Namespaces: []string{"prod"}, Containers: []string{"nginx"}}},
		Exec:  policy.Exec{Deny: []policy.PathRule{{Entry: policy.Entry{Name: "nginx-only"}, Path: nginxOnly}}}}

	s := newStage(t, dir)
	if err := s.e.Set(OriginFile, []policy.Policy{web, nginx}); err != nil {
		t.Fatal(err)
	}
	if m := s.e.Mechanisms(); !hasMech(m, MechPods, "kernel") {
		t.Fatalf("mechanisms %+v: want the pod scope loaded", m)
	}
	cfg, err := s.e.state.ReadConfig()
	if err != nil || cfg.Scoped == 0 {
		t.Fatalf("enforce_config %+v, %v: want scoped on while a pod-scoped policy exists", cfg, err)
	}

	kubepods := mkCgroup(t, filepath.Join(cg.Path, "kubepods"))
	besteffort := mkCgroup(t, filepath.Join(kubepods.Path, "besteffort"))
	uidA, uidB, uidC := newUID(t), newUID(t), newUID(t)
	cidA, cidB := randomHex(t, 64), randomHex(t, 64)
	webLabels := map[string]string{"app": "web"}

	// (a) known before their cgroups exist
	for _, p := range []PodState{
		{UID: uidA, Namespace: "prod", Labels: webLabels},
		{UID: uidB, Namespace: "dev", Labels: webLabels},
	} {
		if err := s.e.UpdatePod(p); err != nil {
			t.Fatal(err)
		}
	}
	podA := mkCgroup(t, filepath.Join(besteffort.Path, "pod"+uidA))
	ctrA := mkCgroup(t, filepath.Join(podA.Path, cidA))
	podB := mkCgroup(t, filepath.Join(besteffort.Path, "pod"+uidB))
	ctrB := mkCgroup(t, filepath.Join(podB.Path, cidB))
	if r := inCgroup(t, ctrA, denied); !r.Killed {
		t.Fatalf("first exec of a denied binary in a new chosen pod: %v, want SIGKILL", r)
	}
	if rec, _, err := s.e.pscope.Recorded(); err != nil || rec[cgID(t, podA.Path)] != uidA {
		t.Errorf("pod_cgroups %v (%v): the mkdir program did not scope pod A's cgroup", rec, err)
	}
	if r := inCgroup(t, ctrB, denied); !r.Success() {
		t.Errorf("the same binary in another namespace's pod: %v, want it to run", r)
	}

	// (b) a label change takes pod A out of the selector: released
	if err := s.e.UpdatePod(PodState{UID: uidA, Namespace: "prod", Labels: map[string]string{"app": "db"}}); err != nil {
		t.Fatal(err)
	}
	if m, ok := s.scopes()[cgID(t, podA.Path)]; ok {
		t.Errorf("pod A still scoped (%#x) after leaving the selector", m)
	}
	if r := inCgroup(t, ctrA, denied); !r.Success() {
		t.Errorf("after the label change: %v, want it to run", r)
	}
	if err := s.e.UpdatePod(PodState{UID: uidA, Namespace: "prod", Labels: webLabels}); err != nil {
		t.Fatal(err)
	}
	if r := inCgroup(t, ctrA, denied); !r.Killed {
		t.Errorf("back in the selector: %v, want SIGKILL", r)
	}

	// (d) containerSelector: only the named container's cgroup
	podC := mkCgroup(t, filepath.Join(kubepods.Path, "pod"+uidC))
	cidN, cidS := randomHex(t, 64), randomHex(t, 64)
	ctrN := mkCgroup(t, filepath.Join(podC.Path, "cri-containerd-"+cidN+".scope"))
	ctrS := mkCgroup(t, filepath.Join(podC.Path, "cri-containerd-"+cidS+".scope"))
	if err := s.e.UpdatePod(PodState{UID: uidC, Namespace: "prod", Labels: map[string]string{"app": "api"},
		Containers: map[string]string{"nginx": "containerd://" + cidN, "sidecar": "containerd://" + cidS}}); err != nil {
		t.Fatal(err)
	}
	if r := inCgroup(t, ctrN, nginxOnly); !r.Killed {
		t.Errorf("nginx-only binary in the nginx container: %v, want SIGKILL", r)
	}
	if r := inCgroup(t, ctrS, nginxOnly); !r.Success() {
		t.Errorf("nginx-only binary in the sidecar: %v, want it to run", r)
	}
	if r := inCgroup(t, ctrN, denied); !r.Success() {
		t.Errorf("pod C is not app=web: %v, want it to run", r)
	}
	sc := s.scopes()
	if _, ok := sc[cgID(t, podC.Path)]; ok {
		t.Errorf("pod C's own cgroup scoped %#x; only its nginx container should be", sc[cgID(t, podC.Path)])
	}

	// a container whose id is known before the runtime makes its cgroup
	// (the CRI tells at creation): scoped by the kernel at the mkdir
	uidD, cidD := newUID(t), randomHex(t, 64)
	if err := s.e.UpdatePod(PodState{UID: uidD, Namespace: "prod", Containers: map[string]string{"nginx": "containerd://" + cidD}}); err != nil {
		t.Fatal(err)
	}
	podD := mkCgroup(t, filepath.Join(besteffort.Path, "pod"+uidD))
	ctrD := mkCgroup(t, filepath.Join(podD.Path, cidD))
	if r := inCgroup(t, ctrD, nginxOnly); !r.Killed {
		t.Errorf("first exec in a new nginx container: %v, want SIGKILL", r)
	}
	if _, ctrs, err := s.e.pscope.Recorded(); err != nil || ctrs[cgID(t, ctrD.Path)] != cidD {
		t.Errorf("container_cgroups %v (%v): the mkdir program did not scope the container", ctrs, err)
	}

	// a restarted agent keeps the pods' entries for the policies it adopts
	// until the watch has listed the pods (SyncPods)
	s.close()
	if r := inCgroup(t, ctrA, denied); !r.Killed {
		t.Fatalf("no agent: %v, want SIGKILL from the pinned state", r)
	}
	s = newStage(t, dir)
	if err := s.e.Set(OriginFile, []policy.Policy{web, nginx}); err != nil {
		t.Fatal(err)
	}
	if r := inCgroup(t, ctrA, denied); !r.Killed {
		t.Errorf("restarted, pods not listed yet: %v, want SIGKILL", r)
	}
	if r := inCgroup(t, ctrD, nginxOnly); !r.Killed {
		t.Errorf("restarted, pods not listed yet, nginx container: %v, want SIGKILL", r)
	}
	stateC := PodState{UID: uidC, Namespace: "prod", Labels: map[string]string{"app": "api"},
		Containers: map[string]string{"nginx": "containerd://" + cidN, "sidecar": "containerd://" + cidS}}
	if err := s.e.SyncPods([]PodState{{UID: uidA, Namespace: "prod", Labels: webLabels},
		{UID: uidB, Namespace: "dev", Labels: webLabels}, stateC}); err != nil {
		t.Fatal(err)
	}
	if r := inCgroup(t, ctrD, nginxOnly); !r.Success() {
		t.Errorf("pod D not in the watch's list: %v, want it released", r)
	}
	if r := inCgroup(t, ctrA, denied); !r.Killed {
		t.Errorf("pod A listed: %v, want SIGKILL", r)
	}
	if r := inCgroup(t, ctrN, nginxOnly); !r.Killed {
		t.Errorf("pod C's nginx listed: %v, want SIGKILL", r)
	}

	// a new set (a static policy added, numbers kept or moved): the pods'
	// entries follow
	static := policy.Policy{Name: "a-static", Mode: policy.Enforce, Source: "test", Scope: policy.Scope{Cgroup: cg.Path},
		Exec: policy.Exec{Deny: []policy.PathRule{{Entry: policy.Entry{Name: "x"}, Path: "/nonexistent/vigil-test"}}}}
	if err := s.e.Set(OriginFile, []policy.Policy{static, nginx}); err != nil {
		t.Fatal(err)
	}
	if r := inCgroup(t, ctrA, denied); !r.Success() {
		t.Errorf("pods-web removed: %v, want it to run", r)
	}
	if r := inCgroup(t, ctrN, nginxOnly); !r.Killed {
		t.Errorf("nginx container after the set changed: %v, want SIGKILL", r)
	}
	if err := s.e.Set(OriginFile, []policy.Policy{static, nginx, web}); err != nil {
		t.Fatal(err)
	}
	if r := inCgroup(t, ctrA, denied); !r.Killed {
		t.Errorf("pods-web back (a new number): %v, want SIGKILL", r)
	}
	if m := s.scopes()[cgID(t, cg.Path)]; m == 0 {
		t.Error("the static scope is missing beside the pods'")
	}

	// (c) deletion: every entry of the pod goes
	if err := s.e.UpdatePod(PodState{UID: uidA, Deleted: true}); err != nil {
		t.Fatal(err)
	}
	if m, ok := s.scopes()[cgID(t, podA.Path)]; ok {
		t.Errorf("deleted pod still scoped: %#x", m)
	}
	if rec, _, err := s.e.pscope.Recorded(); err != nil || rec[cgID(t, podA.Path)] != "" {
		t.Errorf("deleted pod still in pod_cgroups: %v (%v)", rec, err)
	}
	// the kernel's map, not the enforcer's copy of it
	if pods, err := s.e.pscope.Pods(); err != nil || pods[uidA] != 0 {
		t.Errorf("deleted pod still in pod_scopes: %#x (%v)", pods[uidA], err)
	}
	if r := inCgroup(t, ctrA, denied); !r.Success() {
		t.Errorf("deleted pod: %v, want it to run", r)
	}

	// no pod-scoped policy left: the mkdir program is detached
	if err := s.e.Set(OriginFile, []policy.Policy{static}); err != nil {
		t.Fatal(err)
	}
	if m := s.e.Mechanisms(); !hasMech(m, MechPods, "off") {
		t.Errorf("mechanisms %+v: want the pod scope unloaded", m)
	}
	if r := inCgroup(t, ctrN, nginxOnly); !r.Success() {
		t.Errorf("no pod policy: %v, want it to run", r)
	}
	if err := s.e.UpdatePod(PodState{UID: "nope"}); err == nil {
		t.Error("UpdatePod took a malformed uid")
	}
}

func hasMech(ms []MechanismStatus, name, mode string) bool {
	for _, m := range ms {
		if m.Name == name {
			return m.Mode == mode
		}
	}
	return false
}
