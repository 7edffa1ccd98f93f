package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/enforce/modguard/compat"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// compatHelperEnv makes the test binary a helper that calls ia32 getpid
// through "int $0x80" the way the module guard's tests do (Go code, Go's
// signal handlers installed), then prints the result and its own pid.
const compatHelperEnv = "VIGIL_KERNEL_COMPAT_HELPER"

// compatHelper is the helper's body, run from TestMain.
func compatHelper() int {
	ret, err := compat.Syscall(20, 0, 0, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 3
	}
	fmt.Println(ret, os.Getpid())
	return 0
}

// TestCompatSyscallsAgreesWithARealCall: the probe's answer is what
// happens to a process that really makes the call. When the kernel has
// the 32-bit entry, a helper's "int $0x80" getpid returns its pid; when
// it has not, the helper dies of SIGSEGV (which Go's runtime reports
// before exiting 2). And the probe, run in this process, leaves this
// process alive either way.
func TestCompatSyscallsAgreesWithARealCall(t *testing.T) {
	testenv.RequirePrivileged(t)
	if runtime.GOARCH != "amd64" {
		if err := CompatSyscalls(t.Context()); !errors.Is(err, ErrNoCompatSyscalls) {
			t.Fatalf("CompatSyscalls on %s = %v, want ErrNoCompatSyscalls", runtime.GOARCH, err)
		}
		t.Skip("int $0x80 exists on x86-64 only")
	}
	probeErr := CompatSyscalls(t.Context())
	t.Logf("probe: %v", probeErr)
	if probeErr != nil && !errors.Is(probeErr, ErrNoCompatSyscalls) {
		t.Fatalf("probe could not tell: %v", probeErr)
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), compatHelperEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	t.Logf("helper: %v, stdout %q", runErr, stdout.String())

	if probeErr == nil {
		if runErr != nil {
			t.Fatalf("probe says 32-bit calls work, but the helper failed: %v\n%s", runErr, stderr.String())
		}
		fields := strings.Fields(stdout.String())
		if len(fields) != 2 || fields[0] != fields[1] || fields[0] != strconv.Itoa(cmd.Process.Pid) {
			t.Fatalf("probe says 32-bit calls work, but int $0x80 getpid in pid %d printed %q", cmd.Process.Pid, stdout.String())
		}
		return
	}
	var exitErr *exec.ExitError
	if !errors.As(runErr, &exitErr) || exitErr.ExitCode() != 2 || stdout.Len() != 0 ||
		!strings.Contains(stderr.String(), "signal SIGSEGV") {
		t.Fatalf("probe says no 32-bit calls (%v), but the helper ended with %v, stdout %q, stderr:\n%s",
			probeErr, runErr, stdout.String(), stderr.String())
	}
}

// TestCompatSyscallsReported: vigil probe reports the answer, with its
// reason, under the system group.
func TestCompatSyscallsReported(t *testing.T) {
	testenv.RequirePrivileged(t)
	f := runProbe(t.Context(), probe{FeatureCompatSyscalls, GroupSystem, probeCompatSyscalls})
	err := CompatSyscalls(t.Context())
	if f.Available != (err == nil) || f.Detail == "" {
		t.Fatalf("feature %+v, but CompatSyscalls says %v", f, err)
	}
	if f.Available && !strings.Contains(f.Detail, "bypass") {
		t.Errorf("detail %q does not say that the path is a bypass", f.Detail)
	}
	if !f.Available && (!strings.Contains(f.Detail, ErrNoCompatSyscalls.Error()) || !strings.Contains(f.Detail, "not a bypass path here")) {
		t.Errorf("detail %q does not give the reason", f.Detail)
	}
}
