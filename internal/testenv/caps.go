package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// StartBounded starts cmd with a capability bounding set of only keep
// (capability numbers): run as root, its exec then gets exactly keep (with
// the caller's inheritable set) as its effective and permitted sets. The
// caller's own capabilities are not touched: the bounding set is dropped
// on a thread of its own, which cmd is forked from and which ends with it.
func StartBounded(cmd *exec.Cmd, keep ...int) error {
	errc := make(chan error, 1)
	go func() {
		// never unlocked: the runtime ends the thread, whose bounding set
		// no other goroutine may run with, when this goroutine returns
		runtime.LockOSThread()
		for c := 0; c < 64; c++ {
			if slices.Contains(keep, c) {
				continue
			}
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
				if errors.Is(err, unix.EINVAL) {
					break // past the kernel's last capability
				}
				errc <- fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
				return
			}
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

// OwnCaps reads the test process's capability sets from /proc/self/status:
// "CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb" → the set's bits.
func OwnCaps() (map[string]uint64, error) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	sets := map[string]uint64{}
	for _, line := range strings.Split(string(raw), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(key, "Cap") {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(val), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("/proc/self/status %s: %w", key, err)
		}
		sets[key] = v
	}
	return sets, nil
}
