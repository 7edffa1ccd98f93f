package agent

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestContainerIdentity runs a real container with runc (a busybox root
// file system, its own namespaces and cgroups, as docker lays them out with
// the cgroupfs driver) and checks that its processes are named by the
// container's id.
func TestContainerIdentity(t *testing.T) {
	ctr := newTestContainer(t)
	id, bundle := ctr.id, ctr.bundle
	r := start(t, Config{})

	out, err := exec.Command(ctr.runc, "run", "--bundle", bundle, ctr.name).CombinedOutput()
	t.Cleanup(func() {
		ctr.remove()
	})
	if err != nil {
		t.Fatalf("runc run: %v\n%s", err, out)
	}

	// runc's own set-up (runc init, re-executed from a memfd) also runs in
	// the container's cgroup: wait for the container's process proper
	ev := r.waitFor(t, "exec in the container", withArg(event.KindProcessExec, "inside"))
	if c := ev.Process.Container; c == nil || c.ID != id {
		t.Fatalf("container = %+v, want id %s", c, id)
	}
	p := ev.Process
	if p.Container.Runtime != "docker" {
		t.Errorf("runtime = %q, want docker (a bare id under the cgroupfs driver)", p.Container.Runtime)
	}
	if p.Binary != "/bin/busybox" {
		t.Errorf("binary = %q, want /bin/busybox as seen inside the container", p.Binary)
	}
	self := r.tree.Get(uint32(os.Getpid()))
	if self != nil && p.Namespaces.PID == self.Namespaces.PID {
		t.Errorf("pid namespace %d is the host's", p.Namespaces.PID)
	}
	if p.Cgroup.Path != "/"+ctr.parent+"/"+id {
		t.Errorf("cgroup path = %q, want /%s/%s", p.Cgroup.Path, ctr.parent, id)
	}
}

// containerBundle makes an OCI bundle: busybox as the root file system and
// a config whose process prints and exits.
func containerBundle(t *testing.T, busybox, cgroupsPath string) string {
	t.Helper()
	bundle := t.TempDir()
	bin := filepath.Join(bundle, "rootfs", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), raw, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "true", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(bin, applet)); err != nil {
			t.Fatal(err)
		}
	}
	spec := exec.Command("runc", "spec", "--bundle", bundle)
	if out, err := spec.CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v\n%s", err, out)
	}
	path := filepath.Join(bundle, "config.json")
	var cfg map[string]any
	raw, err = os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(raw, &cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	proc := cfg["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"/bin/sh", "-c", "/bin/true inside"}
	cfg["linux"].(map[string]any)["cgroupsPath"] = cgroupsPath
	cfg["root"].(map[string]any)["readonly"] = true
	if raw, err = json.Marshal(cfg); err == nil {
		err = os.WriteFile(path, raw, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bundle
}

// removeCgroupDirs removes the test's parent cgroup from every hierarchy
// runc created it in (runc removes the container's own).
func removeCgroupDirs(parent string) {
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", parent))
	for _, d := range dirs {
		os.Remove(d)
	}
	os.Remove(filepath.Join("/sys/fs/cgroup", parent))
}

// testContainer is a runc container's set-up for a test: the bundle (busybox
// as the root file system) under a cgroup of the test's own, and the names
// to run and remove it by.
type testContainer struct {
	runc   string // runc's path
	id     string // the container's id, the leaf of its cgroup path
	parent string // the test's parent cgroup
	bundle string // the OCI bundle
	name   string // the name runc knows the container by
}

// newTestContainer makes a container's bundle, or skips the test where it
// cannot run one (not privileged, no runc or no busybox).
func newTestContainer(t *testing.T) *testContainer {
	t.Helper()
	testenv.RequirePrivileged(t)
	runc, err := exec.LookPath("runc")
	if err != nil {
		testenv.Unavailable(t, "runc is not installed (apt-get install runc)")
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		testenv.Unavailable(t, "busybox is not installed (apt-get install busybox-static)")
	}
	id := fmt.Sprintf("%016x%016x%016x%016x", rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64())
	parent := fmt.Sprintf("vigil-test-%d-%x", os.Getpid(), rand.Uint32())
	return &testContainer{
		runc:   runc,
		id:     id,
		parent: parent,
		bundle: containerBundle(t, busybox, "/"+parent+"/"+id),
		name:   "vigil-test-" + id[:12],
	}
}

// remove deletes the container and the test's cgroups.
func (c *testContainer) remove() {
	exec.Command(c.runc, "delete", "--force", c.name).Run()
	removeCgroupDirs(c.parent)
}
