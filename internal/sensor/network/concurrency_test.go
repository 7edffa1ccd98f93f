package network

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/sensor/sensortest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestConnectInterruptedBySignal: a blocking connect, waiting for its SYN
// to be answered, takes a signal (SIGURG, which Go handles with
// SA_RESTART). The kernel ends the call with ERESTARTSYS and runs it
// again; the connect is reported once, with its final result.
func TestConnectInterruptedBySignal(t *testing.T) {
	w := watch(t, Config{})
	pid := os.Getpid()
	// a listener whose accept queue is full drops SYNs: the next connect
	// blocks until a retransmitted SYN finds room
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ln)
	addr := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := unix.Bind(ln, addr); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(ln, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(ln)
	addr.Port = sa.(*unix.SockaddrInet4).Port
	first, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(first)
	if err := unix.Connect(first, addr); err != nil { // fills the queue
		t.Fatal(err)
	}

	type result struct {
		sport uint16
		err   error
	}
	tids, done := make(chan int, 1), make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer unix.Close(fd)
		tids <- unix.Gettid()
		err = unix.Connect(fd, addr) // blocks
		local, _ := unix.Getsockname(fd)
		done <- result{uint16(local.(*unix.SockaddrInet4).Port), err}
	}()
	tid := <-tids
	waitInSyscall(t, tid, unix.SYS_CONNECT)
	if err := unix.Tgkill(pid, tid, unix.SIGURG); err != nil {
		t.Fatal(err)
	}
	// make room: the retransmitted SYN gets through
	a, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(a)
	res := <-done
	if res.err != nil {
		t.Fatalf("connect: %v", res.err)
	}
	w.waitFor(t, "net_connect", of(event.KindNetConnect, pid, sport(res.sport)))
	// a later event proves a second record, had there been one, arrived
	sync := listen(t)
	w.waitFor(t, "net_listen", of(event.KindNetListen, pid, sport(uint16(sync.Addr().(*net.TCPAddr).Port))))
	got := w.find(of(event.KindNetConnect, pid, sport(res.sport)))
	if len(got) != 1 || got[0].ev.Network.Result != "success" {
		for _, r := range got {
			t.Logf("net_connect %+v %+v", r.ev.Network, r.ev.Syscall)
		}
		t.Errorf("%d net_connect records for one interrupted connect, want one, successful", len(got))
	}
}

// waitInSyscall waits until thread tid of this process is blocked in
// system call nr, as /proc says.
func waitInSyscall(t *testing.T, tid int, nr int) {
	t.Helper()
	path := fmt.Sprintf("/proc/self/task/%d/syscall", tid)
	deadline := time.Now().Add(testenv.WaitLimit)
	for {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if fields := strings.Fields(string(raw)); len(fields) > 0 && fields[0] == strconv.Itoa(nr) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d never blocked in syscall %d (%s)", tid, nr, raw)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestClosesAccountedUnderLoad: a helper, alone in a cgroup of its own
// that the sensor is scoped to, connects, talks and closes over loopback
// from several goroutines as fast as it can, so that softirqs close
// sockets while the close handler runs on the same CPU. Every end of
// every connection, and the listener, is reported or counted as lost,
// exactly: the counters
// and the reports are the helper's alone (no other process's socket is
// followed), the helper has closed every socket when it exits, and the
// wait polls until the count is complete. None stays followed.
func TestClosesAccountedUnderLoad(t *testing.T) {
	const workers, each = 4, 1500
	cg := testenv.NewCgroup(t)
	w := watchScoped(t, Config{}, sensortest.CgroupScope(t, cg))
	cmd := helper(t, "storm", fmt.Sprintf("%d,%d", workers, each))
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg.FD}
	pid := runHelperCmd(t, cmd)

	const ends = 2*workers*each + 1 // both ends of every connection, and the listener
	deadline := time.Now().Add(testenv.WaitLimit)
	var closed, lost int
	for {
		closed = len(w.find(of(event.KindNetClose, pid, nil)))
		losses, err := w.ring.Losses()
		if err != nil {
			t.Fatal(err)
		}
		lost = int(ring.Lost(losses, ring.MapFull, event.KindNetClose) + ring.Lost(losses, ring.RingbufFull, event.KindNetClose))
		if closed+lost >= ends || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if closed+lost != ends {
		open, err := w.sensor.OpenSockets(uint32(pid))
		t.Errorf("%d net_close reported + %d lost = %d, want %d (both ends of %d connections, and the listener); %d sockets still followed (%v)",
			closed, lost, closed+lost, ends, workers*each, open, err)
	}
	t.Logf("%d connections: %d closes reported, %d counted as lost", workers*each, closed, lost)
	waitNoOpenSockets(t, w, pid)
}

// stormHelper (arg "workers,each"): workers goroutines each connect to a
// loopback listener, write a byte and close, each times; the server reads
// the byte and closes. It returns once every socket is closed.
func stormHelper(arg string) error {
	var workers, each int
	if _, err := fmt.Sscanf(arg, "%d,%d", &workers, &each); err != nil {
		return fmt.Errorf("arg %q: %w", arg, err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var served sync.WaitGroup
	served.Add(workers * each)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer served.Done()
				defer c.Close()
				c.Read(make([]byte, 1))
			}()
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				c, err := net.Dial("tcp4", ln.Addr().String())
				if err != nil {
					errs <- fmt.Errorf("dial: %w", err)
					return
				}
				c.Write([]byte{1})
				c.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	served.Wait()
	return ln.Close()
}
