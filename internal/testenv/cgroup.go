package testenv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Cgroup is a cgroup v2 directory a test made for itself.
type Cgroup struct {
	Root string // the cgroup2 mount
	Path string // absolute path of the test's cgroup
	FD   int    // an O_PATH descriptor, for SysProcAttr.CgroupFD
}

// NewCgroup creates a child of the cgroup v2 root, removed when the test
// ends. The test must have ended every process it put there by then.
func NewCgroup(tb testing.TB) Cgroup {
	tb.Helper()
	root, err := cgroup2Root()
	if err != nil {
		Unavailable(tb, err.Error())
	}
	path := filepath.Join(root, fmt.Sprintf("vigil-test-%d-%x", os.Getpid(), rand.Uint64()))
	if err := os.Mkdir(path, 0o755); err != nil {
		tb.Fatalf("create cgroup: %v", err)
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(path)
		tb.Fatalf("open cgroup: %v", err)
	}
	tb.Cleanup(func() {
		unix.Close(fd)
		// the last process may still be on its way out (on a loaded
		// machine, for seconds)
		deadline := time.Now().Add(WaitLimit)
		for {
			err := os.Remove(path)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			if time.Now().After(deadline) {
				tb.Errorf("remove cgroup %s: %v", path, err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return Cgroup{Root: root, Path: path, FD: fd}
}

// Rel is the cgroup's path below the cgroup2 mount.
func (c Cgroup) Rel() string {
	return strings.TrimPrefix(strings.TrimPrefix(c.Path, c.Root), "/")
}

func cgroup2Root() (string, error) {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if _, after, ok := strings.Cut(line, " - "); ok && strings.HasPrefix(after, "cgroup2 ") {
			return strings.Fields(line)[4], nil
		}
	}
	return "", errors.New("no cgroup2 filesystem is mounted")
}
