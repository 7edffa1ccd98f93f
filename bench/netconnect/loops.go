package main

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// loopback holds the sockets the loops use: a TCP listener, a UDP socket
// that plays the DNS server, one that plays a non-DNS peer, a UDP client,
// /dev/null, /dev/zero, and both ends of a TCP connection.
type loopback struct {
	listener, dnsServer, udpSink, client, devnull int
	devzero, streamIn, streamOut                  int
	listenAddr                                    unix.RawSockaddrInet4
	dnsAddr, sinkAddr                             unix.RawSockaddrInet4
	dnsPort                                       uint16
	query, payload, class, buf                    []byte
}

func newLoopback() (*loopback, error) {
	var err error
	l := &loopback{payload: make([]byte, 64), class: make([]byte, 64), buf: make([]byte, 64)}
	copy(l.class, []byte{0xca, 0xfe, 0xba, 0xbe})
	if l.listener, l.listenAddr, err = bound(unix.SOCK_STREAM); err != nil {
		return nil, err
	}
	if err := unix.Listen(l.listener, 128); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if l.dnsServer, l.dnsAddr, err = bound(unix.SOCK_DGRAM); err != nil {
		return nil, err
	}
	if l.udpSink, l.sinkAddr, err = bound(unix.SOCK_DGRAM); err != nil {
		return nil, err
	}
	if l.client, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
		return nil, err
	}
	if l.devnull, err = unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0); err != nil {
		return nil, err
	}
	if l.devzero, err = unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		return nil, err
	}
	if err := l.connectStream(); err != nil {
		return nil, err
	}
	l.dnsPort = binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&l.dnsAddr.Port))[:])
	l.query = query("bench.vigil.test")
	return l, nil
}

// bound is a socket bound to an ephemeral loopback port, and its address.
func bound(typ int) (int, unix.RawSockaddrInet4, error) {
	var raw unix.RawSockaddrInet4
	fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, raw, err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return 0, raw, fmt.Errorf("bind: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, raw, err
	}
	in := sa.(*unix.SockaddrInet4)
	raw.Family = unix.AF_INET
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&raw.Port))[:], uint16(in.Port))
	raw.Addr = in.Addr
	return fd, raw, nil
}

func (l *loopback) close() {
	for _, fd := range []int{l.listener, l.dnsServer, l.udpSink, l.client, l.devnull, l.devzero, l.streamIn, l.streamOut} {
		unix.Close(fd)
	}
}

// connectLoop: connect, accept, and close, the server first (so that the
// client's ports are free again at once). Each op makes two sockets, one
// connection, and four records: connect, accept and two closes.
func (l *loopback) connectLoop(n int) cost {
	start := now()
	for i := 0; i < n; i++ {
		c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			fail("socket: %v", err)
		}
		_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(c), uintptr(unsafe.Pointer(&l.listenAddr)), unsafe.Sizeof(l.listenAddr))
		if errno != 0 {
			fail("connect: %v", errno)
		}
		a, _, err := unix.Accept4(l.listener, unix.SOCK_CLOEXEC)
		if err != nil {
			fail("accept: %v", err)
		}
		unix.Close(a)
		unix.Close(c)
	}
	return since(start)
}

func (l *loopback) sendLoop(n int, msg []byte, to *unix.RawSockaddrInet4) cost {
	start := now()
	for i := 0; i < n; i++ {
		_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(l.client), uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)),
			0, uintptr(unsafe.Pointer(to)), unsafe.Sizeof(*to))
		if errno != 0 && errno != syscall.EAGAIN {
			fail("sendto: %v", errno)
		}
	}
	return since(start)
}

func (l *loopback) dnsLoop(n int) cost { return l.sendLoop(n, l.query, &l.dnsAddr) }
func (l *loopback) udpLoop(n int) cost { return l.sendLoop(n, l.payload, &l.sinkAddr) }

func (l *loopback) writeLoop(n int) cost {
	start := now()
	for i := 0; i < n; i++ {
		unix.Syscall(unix.SYS_WRITE, uintptr(l.devnull), uintptr(unsafe.Pointer(&l.payload[0])), uintptr(len(l.payload)))
	}
	return since(start)
}

// connectStream connects streamOut to the listener; streamIn is the
// accepted end.
func (l *loopback) connectStream() error {
	var err error
	if l.streamOut, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(l.streamOut), uintptr(unsafe.Pointer(&l.listenAddr)), unsafe.Sizeof(l.listenAddr))
	if errno != 0 {
		return fmt.Errorf("connect: %w", errno)
	}
	if l.streamIn, _, err = unix.Accept4(l.listener, unix.SOCK_CLOEXEC); err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	return nil
}

// recvPairs sends msg to the sink and receives it there, n times: the
// receive is what the sensor looks at.
func (l *loopback) recvPairs(n int, msg []byte) cost {
	start := now()
	for i := 0; i < n; i++ {
		_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(l.client), uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)),
			0, uintptr(unsafe.Pointer(&l.sinkAddr)), unsafe.Sizeof(l.sinkAddr))
		if errno != 0 {
			fail("sendto: %v", errno)
		}
		_, _, errno = unix.Syscall6(unix.SYS_RECVFROM, uintptr(l.udpSink), uintptr(unsafe.Pointer(&l.buf[0])), uintptr(len(l.buf)), 0, 0, 0)
		if errno != 0 {
			fail("recvfrom: %v", errno)
		}
	}
	return since(start)
}

func (l *loopback) recvLoop(n int) cost  { return l.recvPairs(n, l.payload) }
func (l *loopback) classLoop(n int) cost { return l.recvPairs(n, l.class) }

// streamLoop writes 64 bytes on a TCP connection and reads them at the
// other end.
func (l *loopback) streamLoop(n int) cost {
	start := now()
	for i := 0; i < n; i++ {
		if _, _, errno := unix.Syscall(unix.SYS_WRITE, uintptr(l.streamOut), uintptr(unsafe.Pointer(&l.payload[0])), uintptr(len(l.payload))); errno != 0 {
			fail("write: %v", errno)
		}
		for got := 0; got < len(l.payload); {
			r, _, errno := unix.Syscall(unix.SYS_READ, uintptr(l.streamIn), uintptr(unsafe.Pointer(&l.buf[0])), uintptr(len(l.payload)-got))
			if errno != 0 {
				fail("read: %v", errno)
			}
			got += int(r)
		}
	}
	return since(start)
}

func (l *loopback) zeroLoop(n int) cost {
	start := now()
	for i := 0; i < n; i++ {
		unix.Syscall(unix.SYS_READ, uintptr(l.devzero), uintptr(unsafe.Pointer(&l.buf[0])), uintptr(len(l.buf)))
	}
	return since(start)
}

func getppidLoop(n int) cost {
	start := now()
	for i := 0; i < n; i++ {
		unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
	}
	return since(start)
}

// cost is what a loop took: CPU time of its thread, which leaves out the
// time other processes on a shared machine ran instead but also the
// softirq work (loopback TCP) the kernel does not charge to the thread,
// and wall time, which has both.
type cost struct{ cpu, wall time.Duration }

func now() cost { return cost{threadCPU(), time.Duration(time.Now().UnixNano())} }

func since(start cost) cost {
	end := now()
	return cost{end.cpu - start.cpu, end.wall - start.wall}
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		fail("thread CPU clock: %v", err)
	}
	return time.Duration(ts.Nano())
}

// query is a DNS query for the A record of name.
func query(name string) []byte {
	msg := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			msg = append(append(msg, byte(i-start)), name[start:i]...)
			start = i + 1
		}
	}
	return append(msg, 0, 0, 1, 0, 1)
}
