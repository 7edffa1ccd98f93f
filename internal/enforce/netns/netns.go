// Package netns runs code in a network namespace, for the guards that
// attach to interfaces in other namespaces and for their tests and
// benchmarks.
package netns

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn on a thread in the network namespace at path, or on the
// calling thread, locked to it, when path is "". Only the network
// namespace changes, so bpffs stays visible (`ip netns exec` would
// remount /sys and hide it). Sockets fn opens keep their namespace when
// used from other threads.
func Do(path string, fn func() error) error {
	if path == "" {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		return fn()
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with the goroutine instead of
		// going back to the scheduler inside another namespace.
		runtime.LockOSThread()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("enter network namespace %s: %w", path, err)
			return
		}
		done <- fn()
	}()
	return <-done
}
