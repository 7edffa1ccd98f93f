package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestContainerMetadataLearntLate: metadata about a container that comes
// after its first exec (as a pod's name comes from Kubernetes) is on the
// events of the processes already running in it, and on their children's
// parent, but not on the events the agent had emitted before.
func TestContainerMetadataLearntLate(t *testing.T) {
	ctr := newTestContainer(t)
	id, bundle := ctr.id, ctr.bundle
	// the shell waits until the test has learnt the name (the test makes
	// /go in the container's root after that, however long the agent took
	// to deliver the shell's exec), then forks (the command is not its
	// last, so it is not exec'd in place) and exits itself
	gate := filepath.Join(bundle, "rootfs", "go")
	openGate := func() {
		if err := os.WriteFile(gate, nil, 0o644); err != nil {
			t.Error(err)
		}
	}
	setContainerArgs(t, bundle, "/bin/sh", "-c", "until [ -e /go ]; do /bin/busybox sleep 0.05; done; /bin/true late; exit 0")
	r := start(t, Config{})

	run := exec.Command(ctr.runc, "run", "--bundle", bundle, ctr.name)
	var out strings.Builder
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatalf("runc run: %v", err)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(gate); err != nil {
			openGate() // the test failed before: let the shell end
		}
		run.Wait()
		ctr.remove()
	})

	inContainer := func(kind event.Kind, arg string) func(*event.Event) bool {
		return func(ev *event.Event) bool {
			return withArg(kind, arg)(ev) && ev.Process.Container != nil && ev.Process.Container.ID == id
		}
	}
	shell := r.waitFor(t, "the shell's exec", inContainer(event.KindProcessExec, "-c"))
	r.containers.Update(id, func(c *event.Container) { c.Name, c.Image = "late-web", "busybox:late" })
	openGate()

	child := r.waitFor(t, "the child's exec", inContainer(event.KindProcessExec, "late"))
	if err := run.Wait(); err != nil {
		t.Fatalf("runc run: %v\n%s", err, out.String())
	}
	if c := child.Process.Container; c.Name != "late-web" || c.Image != "busybox:late" || c.Runtime != "docker" {
		t.Errorf("child's container = %+v, want the late name and image", c)
	}
	if p := child.Parent; p == nil || p.PID != shell.Process.PID || p.Container.Name != "late-web" {
		t.Errorf("child's parent = %+v, want the shell with the late name", p)
	}
	exit := r.waitFor(t, "the shell's exit", func(ev *event.Event) bool {
		return ev.Kind == event.KindProcessExit && ev.Process.PID == shell.Process.PID &&
			slices.Contains(ev.Process.Args, "-c")
	})
	raw, err := exit.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"name":"late-web"`) {
		t.Errorf("the shell's exit does not carry the late name: %s", raw)
	}
	raw, err = shell.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "late-web") {
		t.Errorf("the shell's exec, emitted before the name was known, carries it: %s", raw)
	}
}
