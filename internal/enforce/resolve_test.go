package enforce

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/kernel"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestContainerScopeResolvesToItsCgroup: a container scope (an id or a
// 12-digit prefix) names the cgroup v2 of the running processes whose
// cgroup carries the id, as runtimes lay it out (…/docker-<id>.scope,
// …/<id>); a container that runs nowhere is an error that says so.
func TestContainerScopeResolvesToItsCgroup(t *testing.T) {
	testenv.RequirePrivileged(t)
	parent := testenv.NewCgroup(t)
	id := fmt.Sprintf("%016x%016x%016x%016x", rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64())
	dir := filepath.Join(parent.Path, "docker-"+id+".scope")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	err = cmd.Start()
	unix.Close(fd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.Remove(dir)
	})
	want, err := kernel.CgroupID(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := enforcerResolver{&Enforcer{cfg: Config{Cgroup2Root: parent.Root}}}
	for _, c := range []string{id, id[:12]} {
		got, err := r.Cgroup(policy.Scope{Container: c})
		if err != nil || got != want {
			t.Errorf("container %s: cgroup %d, %v; want %d", c, got, err, want)
		}
	}
	got, err := r.Cgroup(policy.Scope{Cgroup: strings.TrimPrefix(dir, parent.Root+"/")})
	if err != nil || got != want {
		t.Errorf("the same cgroup by its relative path: %d, %v; want %d", got, err, want)
	}
	if _, err := r.Cgroup(policy.Scope{Container: strings.Repeat("ab", 32)}); err == nil || !strings.Contains(err.Error(), "no running container") {
		t.Errorf("a container that runs nowhere: %v", err)
	}
	if _, err := r.Cgroup(policy.Scope{Cgroup: parent.Root}); err == nil {
		t.Error("the root cgroup was accepted as a scope")
	}
	if _, err := r.Cgroup(policy.Scope{Cgroup: "no/such/cgroup"}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing cgroup: %v, want not-exist", err)
	}
}
