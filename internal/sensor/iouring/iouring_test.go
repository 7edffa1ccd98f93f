package iouring

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/sensor/sensortest"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// requireIOURing skips a test on a machine where io_uring is switched off:
// a feature the machine lacks, not a privilege.
func requireIOURing(t *testing.T) {
	t.Helper()
	testenv.RequirePrivileged(t)
	if why := testenv.IOURingUsable(); why != "" {
		t.Skip(why)
	}
}

func watch(t *testing.T) *sensortest.Watcher {
	t.Helper()
	_, w := sensortest.Start(t, sensortest.Options{Decode: Decoder{}.Decode}, Load)
	return w
}

// secret writes a test-owned file standing for /etc/shadow.
func secret(t *testing.T) (string, []byte) {
	t.Helper()
	dir, err := os.MkdirTemp("", fmt.Sprintf("v18u-%d-", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := filepath.Join(dir, "shadow")
	body := []byte("root:$6$v18u$notarealhash:19000:0:99999:7:::\n")
	if err := os.WriteFile(p, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, body
}

// openRead opens p and reads it through u, with no open or read system
// call: IORING_OP_OPENAT, then IORING_OP_READ on the descriptor it made.
func openRead(t *testing.T, u *testenv.Uring, p string) (int, []byte) {
	t.Helper()
	name := append([]byte(p), 0)
	fd, err := u.Do(testenv.SQE{Opcode: testenv.IORingOpOpenat, FD: unix.AT_FDCWD, Addr: unsafe.Pointer(&name[0]), OpFlags: unix.O_RDONLY | unix.O_CLOEXEC})
	if err != nil || fd < 0 {
		t.Fatalf("IORING_OP_OPENAT %s: %d, %v", p, fd, err)
	}
	t.Cleanup(func() { unix.Close(int(fd)) })
	buf := make([]byte, 256)
	n, err := u.Do(testenv.SQE{Opcode: testenv.IORingOpRead, FD: fd, Addr: unsafe.Pointer(&buf[0]), Len: uint32(len(buf))})
	if err != nil || n < 0 {
		t.Fatalf("IORING_OP_READ: %d, %v", n, err)
	}
	return int(fd), buf[:n]
}

// connect connects a new TCP socket to addr through u (IORING_OP_CONNECT).
func connect(t *testing.T, u *testenv.Uring, addr *net.TCPAddr) int32 {
	t.Helper()
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(s) })
	// struct sockaddr_in: family (host order), port (network order), address
	sa := make([]byte, 16)
	binary.LittleEndian.PutUint16(sa[0:], unix.AF_INET)
	binary.BigEndian.PutUint16(sa[2:], uint16(addr.Port))
	copy(sa[4:], addr.IP.To4())
	res, err := u.Do(testenv.SQE{Opcode: testenv.IORingOpConnect, FD: int32(s), Addr: unsafe.Pointer(&sa[0]), Off: uint64(len(sa))})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func listen(t *testing.T) *net.TCPAddr {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr)
}

func newRing(t *testing.T, flags uint32) *testenv.Uring {
	t.Helper()
	u, err := testenv.NewUring(flags)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	return u
}

func mine(ev *event.Event) bool { return ev.Process != nil && ev.Process.PID == uint32(os.Getpid()) }

// TestOpenReadConnectThroughIOURing is issue 18's first hole: an open and
// read of a sensitive file, and a connect, made only through io_uring
// requests, are reported as the file_open and net_connect events a system
// call would have been, with syscall.via "io_uring", the kernel's path and
// inode of the file, and the address connected to.
func TestOpenReadConnectThroughIOURing(t *testing.T) {
	requireIOURing(t)
	for _, tc := range []struct {
		name  string
		flags uint32
	}{{"interrupt", 0}, {"sqpoll", testenv.IORingSetupSQPoll}} {
		t.Run(tc.name, func(t *testing.T) {
			w := watch(t)
			p, body := secret(t)
			addr := listen(t)
			u := newRing(t, tc.flags)
			fd, got := openRead(t, u, p)
			if !bytes.Equal(got, body) {
				t.Fatalf("read %q through io_uring, want %q", got, body)
			}
			if res := connect(t, u, addr); res != 0 {
				t.Fatalf("IORING_OP_CONNECT: %d", res)
			}
			var st unix.Stat_t
			if err := unix.Stat(p, &st); err != nil {
				t.Fatal(err)
			}

			rec, ok := w.WaitFor(func(ev *event.Event) bool {
				return ev.Kind == event.KindIOURingCreate && mine(ev) && ev.Syscall.Ret == int64(u.FD)
			})
			if !ok {
				t.Fatalf("no io_uring_create of ring fd %d", u.FD)
			}
			if a := rec.Event.Syscall.Args; len(a) != 3 || a[0] != 8 || uint32(a[2])&tc.flags != tc.flags {
				t.Errorf("io_uring_create args %v, want [8 cq_entries flags⊇%#x]", a, tc.flags)
			}
			sensortest.Seed(t, "FuzzDecode", sensortest.SeedName(t, "create"), rec.Raw)

			rec, ok = w.WaitFor(func(ev *event.Event) bool {
				return ev.Kind == event.KindFileOpen && mine(ev) && ev.File.Path == p
			})
			if !ok {
				t.Fatalf("no file_open of %s through io_uring", p)
			}
			ev := rec.Event
			if ev.Syscall.Via != Via || ev.Syscall.Name != "openat" || ev.Syscall.Ret != int64(fd) {
				t.Errorf("syscall %+v, want openat via io_uring returning %d", *ev.Syscall, fd)
			}
			if ev.File.Inode != st.Ino || ev.File.Dev != unix.Major(st.Dev)<<20|unix.Minor(st.Dev) || ev.File.PathSource != "kernel" {
				t.Errorf("file %+v, want inode %d of dev %d from the kernel", *ev.File, st.Ino, st.Dev)
			}
			if len(ev.File.Flags) == 0 || ev.File.Flags[0] != "O_RDONLY" {
				t.Errorf("flags %v, want O_RDONLY first", ev.File.Flags)
			}
			sensortest.Seed(t, "FuzzDecode", sensortest.SeedName(t, "open"), rec.Raw)

			rec, ok = w.WaitFor(func(ev *event.Event) bool {
				return ev.Kind == event.KindNetConnect && mine(ev) && ev.Network.DPort == uint16(addr.Port)
			})
			if !ok {
				t.Fatalf("no net_connect to %v through io_uring", addr)
			}
			n := rec.Event.Network
			if n.DAddr != "127.0.0.1" || n.Family != "inet" || n.Protocol != "tcp" || n.Result != "success" || rec.Event.Syscall.Via != Via {
				t.Errorf("connect %+v syscall %+v, want tcp to 127.0.0.1:%d via io_uring", *n, *rec.Event.Syscall, addr.Port)
			}
			sensortest.Seed(t, "FuzzDecode", sensortest.SeedName(t, "connect"), rec.Raw)
		})
	}
}
