package kernel

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// ensureMountsHelperEnv names the directory under which the helper mounts.
const ensureMountsHelperEnv = "VIGIL_KERNEL_TEST_ENSURE_MOUNTS"

// ensureMountsReport is what the helper saw, for the test to judge.
type ensureMountsReport struct {
	First, Second []string // what each call of ensureMounts mounted
	Mounts        []Mount  // the mounts below the directory after them
	Magic         map[string]int64
	Err           string
}

func helperTargets(root string) []mountTarget {
	return []mountTarget{
		{filepath.Join(root, "missing", "tracing"), "tracefs"}, // its directory does not exist yet
		{filepath.Join(root, "bpf"), "bpf"},
	}
}

// ensureMountsHelper runs ensureMounts twice on mount points below root and
// prints what happened as JSON. It runs in a private mount namespace, so
// the mounts end with it.
func ensureMountsHelper(root string) int {
	var rep ensureMountsReport
	targets := helperTargets(root)
	var err error
	if rep.First, err = ensureMounts(targets); err == nil {
		rep.Second, err = ensureMounts(targets)
	}
	if err != nil {
		rep.Err = err.Error()
	}
	mounts, err := Mounts()
	if err != nil {
		rep.Err += "; mounts: " + err.Error()
	}
	rep.Magic = map[string]int64{}
	for _, m := range mounts {
		if strings.HasPrefix(m.Point, root+"/") {
			rep.Mounts = append(rep.Mounts, m)
			var st unix.Statfs_t
			if err := unix.Statfs(m.Point, &st); err == nil {
				rep.Magic[m.Point] = st.Type
			}
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestEnsureMountsMountsWhatIsMissing: in a mount namespace of its own, a
// child mounts tracefs and bpffs on directories of the test (creating the
// missing one); the filesystems are really there afterwards, a second call
// mounts nothing more, and the test's own namespace never sees them.
func TestEnsureMountsMountsWhatIsMissing(t *testing.T) {
	testenv.RequirePrivileged(t)
	root, err := filepath.EvalSymlinks(t.TempDir()) // mountinfo names real paths
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "bpf"), 0o700); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), ensureMountsHelperEnv+"="+root)
	// Go makes / private (MS_REC|MS_PRIVATE) after unsharing the mount
	// namespace, so nothing propagates back to the host.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var rep ensureMountsReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("helper output %q: %v", out, err)
	}
	if rep.Err != "" {
		t.Fatalf("ensureMounts: %s", rep.Err)
	}

	targets := helperTargets(root)
	want := []string{targets[0].path, targets[1].path}
	if !slices.Equal(rep.First, want) {
		t.Errorf("first call mounted %q, want %q", rep.First, want)
	}
	if len(rep.Second) != 0 {
		t.Errorf("second call mounted %q again, want nothing", rep.Second)
	}
	magic := map[string]int64{"tracefs": unix.TRACEFS_MAGIC, "bpf": unix.BPF_FS_MAGIC}
	for _, target := range targets {
		if !mountedAt(rep.Mounts, target.path, target.fstype) {
			t.Errorf("no %s at %s among %+v", target.fstype, target.path, rep.Mounts)
		}
		if got := rep.Magic[target.path]; got != magic[target.fstype] {
			t.Errorf("statfs(%s).f_type = %#x, want %s's %#x", target.path, got, target.fstype, magic[target.fstype])
		}
	}
	if n := len(rep.Mounts); n != len(targets) {
		t.Errorf("%d mounts below %s, want %d: %+v", n, root, len(targets), rep.Mounts)
	}

	mounts, err := Mounts()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		if strings.HasPrefix(m.Point, root+"/") {
			t.Errorf("the helper's mount %s (%s) leaked into the test's namespace", m.Point, m.FSType)
		}
	}
}
