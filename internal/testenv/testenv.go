// Package testenv gates kernel tests and checks that test binaries clean up
// after themselves. Kernel tests call RequirePrivileged first; under CI=true a
// missing privilege fails the test instead of skipping it, so a CI run can
// never pass by skipping what it was meant to check.
package testenv

import (
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// InCI reports whether the test runs under CI (CI=true or CI=1).
func InCI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}

// RequirePrivileged skips (outside CI) or fails (in CI) a test that needs
// root and the kernel interfaces vigil loads programs through.
func RequirePrivileged(tb testing.TB) {
	tb.Helper()
	if reason := missingPrivilege(); reason != "" {
		Unavailable(tb, reason)
	}
}

// Unavailable ends a test that cannot run here: a skip with the reason
// outside CI, a failure in CI.
func Unavailable(tb testing.TB, reason string) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("CI=true but the test cannot run: %s", reason)
	}
	tb.Skipf("skipped outside CI: %s", reason)
}

func missingPrivilege() string {
	if os.Geteuid() != 0 {
		return "needs root (euid 0) to load eBPF programs"
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return "kernel BTF (/sys/kernel/btf/vmlinux) is missing: " + err.Error()
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return "capget: " + err.Error()
	}
	if data[0].Effective&(1<<unix.CAP_SYS_ADMIN) == 0 {
		return "needs CAP_SYS_ADMIN in the effective set"
	}
	return ""
}

// WaitLimit bounds every wait for a condition in the tests: long enough
// that a machine under heavy load never reaches it while the condition is
// on its way, so it only ends a test that is broken or hung. Tests never
// measure with it.
const WaitLimit = 2 * time.Minute
