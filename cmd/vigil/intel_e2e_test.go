package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestRunIntelAndCheck runs the built binary with `--intel list=URL
// --intel-mode enforce` (a list served by the test, the scope from a config
// file: the test's cgroup) and checks, through the binary too, that the
// listed binary dies, the listed address is refused, and `vigil intel
// check|list` and `vigil status` say so.
func TestRunIntelAndCheck(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "vigil.sock")
	cg := testenv.NewCgroup(t)

	bad := filepath.Join(dir, "vh14w-e2e-bad")
	raw, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw, []byte(fmt.Sprintf("vh14w-e2e-%d-%d", os.Getpid(), time.Now().UnixNano()))...)
	if err := os.WriteFile(bad, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	hexsum := hex.EncodeToString(sum[:])
	const badIP = "127.0.0.79"
	list := fmt.Sprintf("# vh14w test list\n%s\n%s\n", hexsum, badIP)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/iocs.txt" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, list)
	}))
	defer srv.Close()
	conf := filepath.Join(dir, "vigil.yaml")
	writeFile(t, conf, fmt.Sprintf("intel:\n  scope:\n    cgroup: %s\n", cg.Rel()))

	agent := startChild(t, exec.Command(bin, "run", "--config", conf, "--pin-dir", testenv.PinDir(t),
		"--state-dir", "", "--socket", sock, "--format", "json", "--output", filepath.Join(dir, "out.json"),
		"--intel", "list="+srv.URL+"/iocs.txt", "--intel-mode", "enforce"), "agent")
	agent.waitFor(t, "the list in force", func() bool {
		out, _, code := vigilCmd(t, bin, "intel", "check", "--socket", sock, hexsum)
		return code == 0 && strings.Contains(out, "kill at exec")
	})

	inCgroup := func(name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// the kernel's tables follow the set: wait for the policy's entries
	agent.waitFor(t, "the kernel's entries", func() bool {
		out, _, _ := vigilCmd(t, bin, "policy", "list", "--socket", sock)
		return strings.Contains(out, "intel.list")
	})
	if _, err := inCgroup(bad); !killedBySignal(err, syscall.SIGKILL) {
		t.Errorf("the listed binary in the cgroup: %v, want SIGKILL", err)
	}
	if out, err := inCgroup("bash", "-c", "exec 3<>/dev/tcp/"+badIP+"/9"); err == nil || !strings.Contains(out, "Operation not permitted") {
		t.Errorf("connect to %s from the cgroup: %v %q, want EPERM", badIP, err, out)
	}

	out, _, code := vigilCmd(t, bin, "intel", "check", "--socket", sock, badIP+":9")
	if code != 0 || !strings.Contains(out, "source list (enforce)") || !strings.Contains(out, "deny connect") {
		t.Errorf("intel check %s: exit %d\n%s", badIP, code, out)
	}
	if out, _, code := vigilCmd(t, bin, "intel", "check", "--socket", sock, "127.0.0.80"); code != 3 || !strings.Contains(out, "no indicator") {
		t.Errorf("intel check of an unlisted address: exit %d\n%s", code, out)
	}
	out, _, code = vigilCmd(t, bin, "intel", "list", "--socket", sock)
	if code != 0 || !strings.Contains(out, "ip 1") || !strings.Contains(out, "sha256 1") || !strings.Contains(out, srv.URL) {
		t.Errorf("intel list: exit %d\n%s", code, out)
	}
	out, _, code = vigilCmd(t, bin, "intel", "stats", "--socket", sock)
	if code != 0 || !strings.Contains(out, "killed") || !strings.Contains(out, "denied") {
		t.Errorf("intel stats: exit %d\n%s", code, out)
	}
	out, _, code = vigilCmd(t, bin, "status", "--socket", sock)
	if code != 0 || !strings.Contains(out, "intel 1 sources, 2 indicators") {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	agent.stop(t, syscall.SIGINT)
}

func killedBySignal(err error, sig syscall.Signal) bool {
	ee, ok := err.(*exec.ExitError)
	return ok && ee.Sys().(syscall.WaitStatus).Signal() == sig
}
