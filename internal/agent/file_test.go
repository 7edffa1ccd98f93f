package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/sensor/file"
)

// fileEvent matches events of kind about path.
func fileEvent(kind event.Kind, path string) func(*event.Event) bool {
	return func(ev *event.Event) bool {
		return ev.Kind == kind && ev.File != nil && ev.File.Path == path
	}
}

// TestFileOpenCarriesProcessParentAndContainer: a real cat reads a watched
// file; its file_open names the file and carries cat's process, its parent
// (this test) and its container (the host), as an exec event would.
func TestFileOpenCarriesProcessParentAndContainer(t *testing.T) {
	dir := realPath(t, worldDir(t))
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := start(t, Config{File: file.Config{Watch: []string{dir}}})

	if out, err := exec.Command("/bin/cat", secret).CombinedOutput(); err != nil {
		t.Fatalf("cat: %v\n%s", err, out)
	}
	ev := r.waitFor(t, "file_open", fileEvent(event.KindFileOpen, secret))
	p := ev.Process
	if p.Binary != realPath(t, "/bin/cat") || !slices.Contains(p.Args, secret) || p.Partial {
		t.Errorf("process %s %v (partial %v), want cat of %s", p.Binary, p.Args, p.Partial, secret)
	}
	if p.ExecID == "" {
		t.Error("process has no exec id")
	}
	if ev.Parent == nil || ev.Parent.PID != uint32(os.Getpid()) {
		t.Errorf("parent %+v, want this test (pid %d)", ev.Parent, os.Getpid())
	}
	if p.Container == nil || p.Container.ID != event.HostContainerID {
		t.Errorf("container %+v, want host", p.Container)
	}
	if ev.Syscall == nil || ev.Syscall.Ret < 0 || ev.File.PathSource != "kernel" {
		t.Errorf("syscall %+v, path source %q", ev.Syscall, ev.File.PathSource)
	}
}

// TestFileChangesCarryAncestry: a shell runs chmod, mv and rm on a watched
// file; each event names the tool, its parent shell and the test above.
func TestFileChangesCarryAncestry(t *testing.T) {
	dir := realPath(t, worldDir(t))
	f := filepath.Join(dir, "tool")
	if err := os.WriteFile(f, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := start(t, Config{File: file.Config{WatchWrites: []string{dir}}})
	script := fmt.Sprintf("chmod 4755 %[1]s && mv %[1]s %[1]s.moved && rm %[1]s.moved", f)
	if out, err := exec.Command("/bin/sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	for _, c := range []struct {
		kind event.Kind
		path string
		tool string
	}{
		{event.KindFileChmod, f, "chmod"},
		{event.KindFileRename, f, "mv"},
		{event.KindFileUnlink, f + ".moved", "rm"},
	} {
		ev := r.waitFor(t, string(c.kind), fileEvent(c.kind, c.path))
		if filepath.Base(ev.Process.Binary) != c.tool {
			t.Errorf("%s: binary %s, want %s", c.kind, ev.Process.Binary, c.tool)
		}
		if ev.Parent == nil || filepath.Base(ev.Parent.Binary) != filepath.Base(realPath(t, "/bin/sh")) {
			t.Errorf("%s: parent %+v, want the shell", c.kind, ev.Parent)
		}
		if len(ev.Ancestors) == 0 || ev.Ancestors[0].PID != uint32(os.Getpid()) {
			t.Errorf("%s: ancestors %+v, want this test first", c.kind, ev.Ancestors)
		}
		if c.kind == event.KindFileChmod && (!ev.File.Setuid || ev.File.Mode != 0o4755) {
			t.Errorf("chmod: mode %o setuid %v", ev.File.Mode, ev.File.Setuid)
		}
	}
}

// TestFileOpenInsideAContainer: a container reads its own /etc/shadow. The
// path is the one the container sees (the walk stops at the task's root),
// the default watch set catches it, and the event names the container.
func TestFileOpenInsideAContainer(t *testing.T) {
	ctr := newTestContainer(t)
	id, bundle := ctr.id, ctr.bundle
	etc := filepath.Join(bundle, "rootfs", "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "shadow"), []byte("root:*:1::::::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	setContainerArgs(t, bundle, "/bin/cat", "/etc/shadow")
	r := start(t, Config{}) // the default watch set

	out, err := exec.Command(ctr.runc, "run", "--bundle", bundle, ctr.name).CombinedOutput()
	t.Cleanup(func() {
		ctr.remove()
	})
	if err != nil {
		t.Fatalf("runc run: %v\n%s", err, out)
	}
	ev := r.waitFor(t, "file_open in the container", func(ev *event.Event) bool {
		return fileEvent(event.KindFileOpen, "/etc/shadow")(ev) &&
			ev.Process.Container != nil && ev.Process.Container.ID == id
	})
	if ev.Process.Binary != "/bin/busybox" || !slices.Contains(ev.Process.Args, "/etc/shadow") {
		t.Errorf("process %s %v, want busybox cat /etc/shadow", ev.Process.Binary, ev.Process.Args)
	}
}

// setContainerArgs makes a bundle's process run args.
func setContainerArgs(t *testing.T, bundle string, args ...string) {
	t.Helper()
	path := filepath.Join(bundle, "config.json")
	var cfg map[string]any
	raw, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(raw, &cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg["process"].(map[string]any)["args"] = args
	if raw, err = json.Marshal(cfg); err == nil {
		err = os.WriteFile(path, raw, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}
