// Package observetest is what the observers' kernel tests share: a ring
// of their own, processes started in a test's cgroup, and polling a
// snapshot until it shows what the test caused.
package observetest

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/observe"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// Ring is a small ring buffer closed when the test ends.
func Ring(t *testing.T) *ring.Ring {
	t.Helper()
	r, err := ring.New(ring.Config{Size: 1 << 16})
	if err != nil {
		t.Fatalf("ring: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// Start runs argv in cgroup cg; the process is killed and reaped when the
// test ends.
func Start(t *testing.T, cg testenv.Cgroup, argv ...string) *exec.Cmd {
	t.Helper()
	return StartWith(t, cg, nil, argv...)
}

// StartWith is Start with stdin.
func StartWith(t *testing.T, cg testenv.Cgroup, stdin *os.File, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// Poll reads o until done says the snapshot shows what the test wants,
// for at most testenv.WaitLimit; it returns the last snapshot either way,
// failing the test with what on timeout.
func Poll(t *testing.T, o observe.Observer, what string, done func(*observe.Snapshot) bool) *observe.Snapshot {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		s := observe.NewSnapshot()
		if err := o.Read(s); err != nil {
			t.Fatalf("read %s observer: %v", o.Name(), err)
		}
		if done(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s observer: after %v, still no %s", o.Name(), testenv.WaitLimit, what)
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// CgroupID is cg's id, as the kernel keys it.
func CgroupID(t *testing.T, cg testenv.Cgroup) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(cg.Path, &st); err != nil {
		t.Fatalf("stat cgroup: %v", err)
	}
	return st.Ino
}

// Connect makes one loopback TCP connection from a shell in cg to
// a listener of the test's, and waits until both ends have closed it.
func Connect(t *testing.T, cg testenv.Cgroup) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, err = io.Copy(io.Discard, c) // until the client's FIN
			_ = c.Close()
		}
		served <- err
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cmd := Start(t, cg, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/"+port+" && echo hi >&3 && exec 3>&-")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("server: %v", err)
	}
}

// RemoveCgroup removes a test's cgroup whose processes have ended (the
// last may still be on its way out).
func RemoveCgroup(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		err := os.Remove(path)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("remove cgroup: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
