package main

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// loopback holds the sockets the loops use: a TCP listener, a UDP sink, a
// UDP socket that is connected again and again, and one that sends
// without connecting.
type loopback struct {
	listener, sink, connector, sender int
	listenAddr, sinkAddr              unix.RawSockaddrInet4
	tcpPort, udpPort                  uint16
	payload                           []byte
}

func newLoopback() (*loopback, error) {
	var err error
	l := &loopback{payload: make([]byte, 64)}
	if l.listener, l.listenAddr, err = bound(unix.SOCK_STREAM); err != nil {
		return nil, err
	}
	if err := unix.Listen(l.listener, 128); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if l.sink, l.sinkAddr, err = bound(unix.SOCK_DGRAM); err != nil {
		return nil, err
	}
	for _, fd := range []*int{&l.connector, &l.sender} {
		if *fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return nil, err
		}
	}
	l.tcpPort = port(&l.listenAddr)
	l.udpPort = port(&l.sinkAddr)
	return l, nil
}

func port(a *unix.RawSockaddrInet4) uint16 {
	return binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&a.Port))[:])
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
	for _, fd := range []int{l.listener, l.sink, l.connector, l.sender} {
		unix.Close(fd)
	}
}

// tcpLoop: socket, connect (cgroup/connect4), accept, close both.
func (l *loopback) tcpLoop(n int) (cost, error) {
	start := now()
	for i := 0; i < n; i++ {
		c, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return cost{}, fmt.Errorf("socket: %w", err)
		}
		_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(c), uintptr(unsafe.Pointer(&l.listenAddr)), unsafe.Sizeof(l.listenAddr))
		if errno != 0 {
			unix.Close(c)
			return cost{}, fmt.Errorf("connect: %w", errno)
		}
		a, _, err := unix.Accept4(l.listener, unix.SOCK_CLOEXEC)
		if err != nil {
			return cost{}, fmt.Errorf("accept: %w", err)
		}
		unix.Close(a)
		unix.Close(c)
	}
	return since(start), nil
}

// udpConnectLoop connects one UDP socket to the sink again and again:
// each connect runs cgroup/connect4, and little else.
func (l *loopback) udpConnectLoop(n int) (cost, error) {
	start := now()
	for i := 0; i < n; i++ {
		_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(l.connector), uintptr(unsafe.Pointer(&l.sinkAddr)), unsafe.Sizeof(l.sinkAddr))
		if errno != 0 {
			return cost{}, fmt.Errorf("udp connect: %w", errno)
		}
	}
	return since(start), nil
}

// sendtoLoop sends 64 B datagrams without connecting (cgroup/sendmsg4).
func (l *loopback) sendtoLoop(n int) (cost, error) {
	start := now()
	for i := 0; i < n; i++ {
		_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(l.sender), uintptr(unsafe.Pointer(&l.payload[0])), uintptr(len(l.payload)),
			0, uintptr(unsafe.Pointer(&l.sinkAddr)), unsafe.Sizeof(l.sinkAddr))
		if errno != 0 && errno != syscall.EAGAIN {
			return cost{}, fmt.Errorf("sendto: %w", errno)
		}
	}
	return since(start), nil
}

// cost is what a loop took: CPU time of its thread (which includes the BPF
// programs it ran and leaves out time other load ran instead, but also the
// softirq work of loopback TCP), and wall time, which has both.
type cost struct{ cpu, wall time.Duration }

func now() cost { return cost{threadCPU(), time.Duration(time.Now().UnixNano())} }

func since(start cost) cost {
	end := now()
	return cost{end.cpu - start.cpu, end.wall - start.wall}
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}
