package testenv

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// Main runs a package's tests and fails the package when it leaves file
// descriptors open that it did not have before: leaked BPF programs, maps,
// links, ring buffer readers and sockets all show up here. Use it as
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) { MainFunc(m.Run) }

// MainFunc is Main with run in place of m.Run: a wrapper that runs the
// tests and more, such as kubelab.Run, which stops the package's shared
// lab after them (before the descriptors are counted).
func MainFunc(run func() int) {
	warmUpNetpoller()
	before := openFDs()
	code := run()
	if code == 0 {
		if leaked := waitForFDs(before, WaitLimit); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: the tests leaked %d file descriptors:\n  %s\n",
				len(leaked), strings.Join(leaked, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// waitForFDs gives finalizers and closing goroutines up to grace (on a
// loaded machine a goroutine may wait seconds for a CPU), then returns the
// descriptors that are open now but were not open before.
func waitForFDs(before map[string]string, grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		leaked := diffFDs(before, openFDs())
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func diffFDs(before, after map[string]string) []string {
	var leaked []string
	for fd, target := range after {
		if old, ok := before[fd]; ok && old == target {
			continue
		}
		leaked = append(leaked, fd+" -> "+target)
	}
	sort.Strings(leaked)
	return leaked
}

// openFDs maps each open descriptor number to what it points at.
func openFDs() map[string]string {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	fds := make(map[string]string, len(entries))
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the descriptor ReadDir itself used, already closed
		}
		fds[e.Name()] = target
	}
	return fds
}

// warmUpNetpoller makes the Go runtime open its epoll and eventfd descriptors
// now, so that they count as "before" and are not reported as leaks.
func warmUpNetpoller() {
	r, w, err := os.Pipe()
	if err != nil {
		return
	}
	r.Close()
	w.Close()
}
