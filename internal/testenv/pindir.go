package testenv

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// PinDir returns a bpffs directory of the test's own, so that the test's
// pinned links and maps never touch those of an agent running on the same
// machine; everything pinned below it is removed when the test ends (which
// detaches pinned links).
func PinDir(tb testing.TB) string {
	tb.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/bpf", &st); err != nil || st.Type != unix.BPF_FS_MAGIC {
		Unavailable(tb, "bpffs is not mounted at /sys/fs/bpf")
	}
	dir := filepath.Join("/sys/fs/bpf", fmt.Sprintf("vigil-test-%d-%x", os.Getpid(), rand.Uint64()))
	tb.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			tb.Errorf("remove pin directory: %v", err)
		}
	})
	return dir
}
