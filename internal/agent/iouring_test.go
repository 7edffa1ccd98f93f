package agent

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proctree"
	"github.com/vigil-sec/vigil/internal/ring"
	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/rules"
)

// iouringHelperEnv makes the test binary a process that opens and reads
// a file and connects a socket through an io_uring ring only
// ("PATH|127.0.0.1:PORT"), then exits.
const iouringHelperEnv = "VIGIL_IOURING_HELPER"

func iouringHelper(job string) int {
	path, addr, _ := strings.Cut(job, "|")
	if err := uringOpenReadConnect(path, addr); err != nil {
		fmt.Fprintln(os.Stderr, "io_uring helper:", err)
		return 1
	}
	return 0
}

func uringOpenReadConnect(path, addr string) error {
	u, err := testenv.NewUring(0)
	if err != nil {
		return err
	}
	defer u.Close()
	name := append([]byte(path), 0)
	fd, err := u.Do(testenv.SQE{Opcode: testenv.IORingOpOpenat, FD: unix.AT_FDCWD, Addr: unsafe.Pointer(&name[0]), OpFlags: unix.O_RDONLY | unix.O_CLOEXEC})
	if err != nil || fd < 0 {
		return fmt.Errorf("IORING_OP_OPENAT %s: %d %v", path, fd, err)
	}
	buf := make([]byte, 128)
	if n, err := u.Do(testenv.SQE{Opcode: testenv.IORingOpRead, FD: fd, Addr: unsafe.Pointer(&buf[0]), Len: uint32(len(buf))}); err != nil || n <= 0 {
		return fmt.Errorf("IORING_OP_READ: %d %v", n, err)
	}
	ap, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return err
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	sa := make([]byte, 16) // struct sockaddr_in
	binary.LittleEndian.PutUint16(sa[0:], unix.AF_INET)
	binary.BigEndian.PutUint16(sa[2:], uint16(ap.Port))
	copy(sa[4:], ap.IP.To4())
	if res, err := u.Do(testenv.SQE{Opcode: testenv.IORingOpConnect, FD: int32(s), Addr: unsafe.Pointer(&sa[0]), Off: uint64(len(sa))}); err != nil || res != 0 {
		return fmt.Errorf("IORING_OP_CONNECT %s: %d %v", addr, res, err)
	}
	return nil
}

// uringSink keeps events and alerts.
type uringSink struct {
	mu     sync.Mutex
	events []*event.Event
	alerts []*event.Alert
}

func (s *uringSink) Write(ev *event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	return nil
}

func (s *uringSink) WriteAlert(al *event.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts = append(s.alerts, al)
	return nil
}
func (s *uringSink) WriteDrops(*event.Drops) error { return nil }
func (s *uringSink) Flush() error                  { return nil }
func (s *uringSink) Close() error                  { return nil }

func (s *uringSink) event(match func(*event.Event) bool) *event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range s.events {
		if match(ev) {
			return ev
		}
	}
	return nil
}

func (s *uringSink) alert(name string, pid int) *event.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.alerts {
		if a.Rule.Name == name && a.Event.Process.PID == uint32(pid) {
			return a
		}
	}
	return nil
}

// TestIOURingOpenOfASensitiveFileAlerts: a process that opens and reads a
// configured sensitive file and connects to a loopback listener with
// io_uring requests only is reported through the whole pipeline: a
// file_open with the file's real path and syscall.via io_uring, on which
// the pack's shadow_file_read fires, a net_connect to the listener, and
// the ring's io_uring_create.
func TestIOURingOpenOfASensitiveFileAlerts(t *testing.T) {
	testenv.RequirePrivileged(t)
	if why := testenv.IOURingUsable(); why != "" {
		t.Skip(why)
	}
	dir := realPath(t, worldDir(t))
	secret := filepath.Join(dir, "shadow")
	if err := os.WriteFile(secret, []byte("root:$6$v18u$x:19000:0:99999:7:::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srcs, err := rules.Sources()
	if err != nil {
		t.Fatal(err)
	}
	// the test's file is one of the pack's password files
	srcs = append(srcs, rule.Source{Name: "v18u.yaml", Data: fmt.Appendf(nil, "- list: shadow_files\n  append: true\n  items: [%q]\n", secret)})
	rs, err := rule.Compile(srcs)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for c, err := l.Accept(); err == nil; c, err = l.Accept() {
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port

	sink := &uringSink{}
	a, err := New(Config{Ring: ring.DefaultConfig(), ProcTree: proctree.DefaultConfig(), Rules: rule.NewEngine(rs, rule.Config{}),
		Sink: sink, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("start agent: %v", err)
	}
	r := &running{Agent: a}
	t.Cleanup(func() {
		r.stop(t)
		if err := a.Close(); err != nil {
			t.Errorf("agent close: %v", err)
		}
	})
	r.run()

	helper := exec.Command(mustExecutable(t), "-test.run=^$")
	helper.Env = append(os.Environ(), iouringHelperEnv+"="+secret+"|"+l.Addr().String())
	if out, err := helper.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	pid := helper.Process.Pid

	var open, conn, ring *event.Event
	var alert *event.Alert
	deadline := time.Now().Add(waitLimit)
	for open == nil || conn == nil || ring == nil || alert == nil {
		if time.Now().After(deadline) {
			t.Fatalf("within %v: file_open %v, net_connect %v, io_uring_create %v, shadow_file_read alert %v", waitLimit, open != nil, conn != nil, ring != nil, alert != nil)
		}
		time.Sleep(5 * time.Millisecond)
		mine := func(kind event.Kind) func(*event.Event) bool {
			return func(ev *event.Event) bool { return ev.Kind == kind && ev.Process.PID == uint32(pid) }
		}
		open = sink.event(func(ev *event.Event) bool { return mine(event.KindFileOpen)(ev) && ev.File.Path == secret })
		conn = sink.event(func(ev *event.Event) bool { return mine(event.KindNetConnect)(ev) && ev.Network.DPort == uint16(port) })
		ring = sink.event(mine(event.KindIOURingCreate))
		alert = sink.alert("shadow_file_read", pid)
	}
	if open.Syscall.Via != "io_uring" || open.File.PathSource != "kernel" || open.File.Inode == 0 {
		t.Errorf("file_open syscall %+v file %+v: want via io_uring, the kernel's path and inode", *open.Syscall, *open.File)
	}
	if open.Process.Binary != realPath(t, mustExecutable(t)) || open.Process.Partial {
		t.Errorf("file_open by %s (partial %v), want the helper %s", open.Process.Binary, open.Process.Partial, mustExecutable(t))
	}
	if conn.Network.DAddr != "127.0.0.1" || conn.Syscall.Via != "io_uring" || conn.Network.Result != "success" {
		t.Errorf("net_connect %+v syscall %+v: want 127.0.0.1:%d via io_uring", *conn.Network, *conn.Syscall, port)
	}
	if alert.Event.File == nil || alert.Event.File.Path != secret || alert.Event.Syscall.Via != "io_uring" {
		t.Errorf("shadow_file_read alert on %+v", alert.Event)
	}
}
