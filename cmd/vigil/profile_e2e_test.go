package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/seccomp"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// webWorkload is a small server and a client doing its job: busybox httpd
// serves a page on the container's loopback, wget fetches it until it
// answers, then a file large enough that its reads must wait (poll: a
// small one may arrive whole, and then wget never polls, a path a profile
// recorded from such a run lacks), and the server is stopped while the
// shell waits for it (rt_sigsuspend: a shell whose child is already dead
// does not wait, the same kind of path).
const webWorkload = `httpd -f -p 127.0.0.1:8080 -h /www & pid=$!
i=0
until wget -q -O - http://127.0.0.1:8080/index.html; do
	i=$((i+1)); [ $i -lt 100 ] || exit 7
	sleep 0.1
done
wget -q -O /dev/null http://127.0.0.1:8080/big || exit 8
(sleep 0.2; kill $pid) &
wait $pid
exit 0`

// the page the server serves; the client prints it
const webPage = "vh16s-page-served"

// profileBundle is an OCI bundle for runc: busybox as the root file
// system, the page to serve, and a config running script in cgroupsPath,
// under seccomp profile p when p is not nil.
type profileBundle struct {
	dir, parent string
}

func newProfileBundle(t *testing.T) *profileBundle {
	t.Helper()
	testenv.RequirePrivileged(t)
	if _, err := exec.LookPath("runc"); err != nil {
		testenv.Unavailable(t, "runc is not installed (apt-get install runc)")
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		testenv.Unavailable(t, "busybox is not installed (apt-get install busybox-static)")
	}
	b := &profileBundle{dir: t.TempDir(), parent: fmt.Sprintf("vh16s-%d-%x", os.Getpid(), rand.Uint32())}
	t.Cleanup(func() {
		dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", b.parent))
		for _, d := range append(dirs, filepath.Join("/sys/fs/cgroup", b.parent)) {
			os.Remove(d)
		}
	})
	root := filepath.Join(b.dir, "rootfs")
	for _, d := range []string{"bin", "www", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(busybox)
	if err == nil {
		err = os.WriteFile(filepath.Join(root, "bin", "busybox"), raw, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(root, "www", "index.html"), []byte(webPage+"\n"), 0o644)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(root, "www", "big"), make([]byte, 8<<20), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "httpd", "wget", "sleep", "kill", "unshare", "true"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("runc", "spec", "--bundle", b.dir).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v\n%s", err, out)
	}
	return b
}

// configure writes the bundle's config: script run by sh in a container
// whose cgroup is parent/id, under p when p is not nil.
func (b *profileBundle) configure(t *testing.T, id, script string, p *seccomp.Profile) {
	t.Helper()
	path := filepath.Join(b.dir, "config.json")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("runc", "spec", "--bundle", b.dir).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v\n%s", err, out)
	}
	var cfg map[string]any
	raw, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(raw, &cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	proc := cfg["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"/bin/sh", "-c", script}
	linux := cfg["linux"].(map[string]any)
	linux["cgroupsPath"] = "/" + b.parent + "/" + id
	if p != nil {
		linux["seccomp"] = p
	}
	if raw, err = json.Marshal(cfg); err == nil {
		err = os.WriteFile(path, raw, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// run runs the container to its end and returns its output and status.
func (b *profileBundle) run(t *testing.T, script string, p *seccomp.Profile) (string, int) {
	t.Helper()
	id := containerIDForTest()
	b.configure(t, id, script, p)
	name := "vh16s-" + id[:12]
	t.Cleanup(func() { exec.Command("runc", "delete", "--force", name).Run() })
	// a call the profile lacks can make the workload spin: end it then
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "runc", "run", "--bundle", b.dir, name)
	cmd.Cancel = func() error { return exec.Command("runc", "delete", "--force", name).Run() }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Errorf("container %s ran past %v and was killed", name, testenv.WaitLimit)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("runc run: %v\n%s", err, out)
	}
	return string(out), code
}

func containerIDForTest() string {
	return fmt.Sprintf("%016x%016x%016x%016x", rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64())
}

// TestContainerProfile records a running container (attached after runc
// create, before runc start: the calls runc makes after installing the
// filter are not seen and come from seccomp.RuntimeCalls), then runs the
// same workload under the profile, which must still work, and calls the
// workload never made, which the profile must refuse with its errno.
func TestContainerProfile(t *testing.T) {
	b := newProfileBundle(t)
	bin := buildVigil(t)

	id := containerIDForTest()
	b.configure(t, id, webWorkload, nil)
	name := "vh16s-" + id[:12]
	t.Cleanup(func() { exec.Command("runc", "delete", "--force", name).Run() })
	// a file, not a pipe: runc create returns while the container holds it
	ctrOut, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer ctrOut.Close()
	create := exec.Command("runc", "create", "--bundle", b.dir, name)
	create.Stdout, create.Stderr = ctrOut, ctrOut
	if err := create.Run(); err != nil {
		t.Fatalf("runc create: %v", err)
	}

	profile := filepath.Join(t.TempDir(), "profile.json")
	var stderr syncBuffer
	rec := exec.Command(bin, "profile", "--container", id[:16], "--errno", "EACCES", "-o", profile)
	rec.Stderr = &stderr
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	defer rec.Process.Kill()
	waitFor(t, "vigil profile recording", func() bool { return strings.Contains(stderr.String(), "vigil: recording container "+id) })

	if out, err := exec.Command("runc", "start", name).CombinedOutput(); err != nil {
		t.Fatalf("runc start: %v\n%s", err, out)
	}
	waitFor(t, "the recorded container to stop", func() bool {
		out, _ := exec.Command("runc", "state", name).Output()
		return strings.Contains(string(out), `"status": "stopped"`)
	})
	if err := rec.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := rec.Wait(); err != nil {
		t.Fatalf("vigil profile: %v\n%s", err, stderr.String())
	}
	report := stderr.String()
	if raw, _ := os.ReadFile(ctrOut.Name()); !strings.Contains(string(raw), webPage) {
		t.Fatalf("the recorded workload did not fetch its page:\n%s", raw)
	}
	for _, want := range []string{"WARNING: recording started after container " + id, "runc makes after installing the filter"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}

	var p seccomp.Profile
	raw, err := os.ReadFile(profile)
	if err == nil {
		err = json.Unmarshal(raw, &p)
	}
	if err != nil {
		t.Fatal(err)
	}
	if p.DefaultAction != seccomp.ActErrno || p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != uint(syscall.EACCES) {
		t.Fatalf("profile default %s errno %v, want SCMP_ACT_ERRNO with EACCES", p.DefaultAction, p.DefaultErrnoRet)
	}
	for _, call := range []string{"socket", "bind", "listen", "accept", "connect", "wait4"} {
		if !p.Allows(call) {
			t.Errorf("the web workload's %s is not in the profile:\n%s", call, report)
		}
	}
	for _, call := range []string{"mount", "unshare", "ptrace"} {
		if p.Allows(call) {
			t.Errorf("the profile allows %s, which the workload never called", call)
		}
	}

	out, code := b.run(t, webWorkload, &p)
	if code != 0 || !strings.Contains(out, webPage) {
		t.Fatalf("the same workload under its profile: status %d, output:\n%s\nprofile report:\n%s", code, out, report)
	}

	// what it never did: refused with the profile's errno, EACCES, where
	// the container would otherwise get EPERM (it lacks CAP_SYS_ADMIN)
	// (busybox unshare names the call it failed)
	const never = "unshare -m true"
	if out, _ = b.run(t, never, &p); !strings.Contains(out, "unshare(0x20000): Permission denied") {
		t.Errorf("under the profile, want unshare refused with EACCES, got:\n%s", out)
	}
	if out, _ = b.run(t, never, nil); !strings.Contains(out, "unshare(0x20000): Operation not permitted") {
		t.Errorf("without the profile, want unshare refused with EPERM (no CAP_SYS_ADMIN), got:\n%s", out)
	}
}

// commandWorkload is webWorkload for a host shell: every applet through
// busybox (the host has no httpd on its PATH), the port and the served
// directory given.
func commandWorkload(port int, dir string) string {
	return fmt.Sprintf(`busybox httpd -f -p 127.0.0.1:%[1]d -h %[2]s & pid=$!
i=0
until busybox wget -q -O - http://127.0.0.1:%[1]d/index.html; do
	i=$((i+1)); [ $i -lt 100 ] || exit 7
	busybox sleep 0.1
done
busybox wget -q -O /dev/null http://127.0.0.1:%[1]d/big || exit 8
(busybox sleep 0.2; kill $pid) &
wait $pid
exit 0`, port, dir)
}

// TestCommandProfile records a command vigil starts (born in its cgroup,
// so its first call is seen; its children too) and runs the same workload
// in a container under the profile, with runc's own calls added.
func TestCommandProfile(t *testing.T) {
	b := newProfileBundle(t)
	bin := buildVigil(t)
	busybox, _ := exec.LookPath("busybox")
	port := 20000 + rand.IntN(20000) // the host's loopback: a port unlikely to be taken
	profile := filepath.Join(t.TempDir(), "profile.json")
	www := filepath.Join(b.dir, "rootfs", "www")

	out, stderr, code := vigilCmd(t, bin, "profile", "--runtime-calls", "--mode", "errno", "-o", profile,
		"--", busybox, "sh", "-c", commandWorkload(port, www))
	if code != 0 || !strings.Contains(out, webPage) {
		t.Fatalf("vigil profile -- workload: status %d\n%s\n%s", code, out, stderr)
	}
	if strings.Contains(stderr, "WARNING") {
		t.Errorf("a command recorded from its start warned:\n%s", stderr)
	}
	var p seccomp.Profile
	raw, err := os.ReadFile(profile)
	if err == nil {
		err = json.Unmarshal(raw, &p)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !p.Allows("accept") || !p.Allows("execve") || p.Allows("unshare") {
		t.Errorf("profile allows accept %v, execve %v, unshare %v: want true, true, false",
			p.Allows("accept"), p.Allows("execve"), p.Allows("unshare"))
	}
	ctrOut, code := b.run(t, commandWorkload(8080, "/www"), &p)
	if code != 0 || !strings.Contains(ctrOut, webPage) {
		t.Fatalf("the same workload in a container under its profile: status %d, output:\n%s\nprofile report:\n%s", code, ctrOut, stderr)
	}
	if ctrOut, _ = b.run(t, "unshare -m true", &p); !strings.Contains(ctrOut, "unshare(0x20000): Operation not permitted") {
		t.Errorf("under the profile, want unshare refused with EPERM, got:\n%s", ctrOut)
	}
}
