package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/enforce/netns"
	"github.com/vigil-sec/vigil/internal/enforce/xdpguard/testnet"
)

// The bench network is testnet's: the flood goes from its sender's
// blocked or allowed address to its receiver's, on recvPort.
const (
	recvPort = 9999
	batch    = 64 // datagrams per sendmmsg / recvmmsg
)

// udpSocket opens a UDP socket in ns bound to local and, when remote is
// valid, connected to it. Sockets keep their namespace when used from
// other threads.
func udpSocket(ns string, local, remote netip.AddrPort) (int, error) {
	var fd int
	err := netns.Do(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: local.Addr().As4(), Port: int(local.Port())}); err != nil {
			return err
		}
		if remote.IsValid() {
			return unix.Connect(fd, &unix.SockaddrInet4{Addr: remote.Addr().As4(), Port: int(remote.Port())})
		}
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	})
	if err != nil && fd > 0 {
		unix.Close(fd)
	}
	return fd, err
}

// mmsgs is a batch of message headers, all over buf: sent alike, or
// received into the same bytes (the reader only counts).
func mmsgs(buf []byte) []unix.Mmsghdr {
	hdrs := make([]unix.Mmsghdr, batch)
	iov := &unix.Iovec{Base: &buf[0]}
	iov.SetLen(len(buf))
	for i := range hdrs {
		hdrs[i].Hdr.Iov = iov
		hdrs[i].Hdr.SetIovlen(1)
	}
	return hdrs
}

// sender is a socket and what each of its messages holds: a UDP payload
// on a connected UDP socket, or a whole frame on a packet socket.
type sender struct {
	fd  int
	msg []byte
}

// blast sends s's message batch by batch until stop is set, adding to
// sent how many the kernel accepted.
func blast(s sender, stop *atomic.Bool, sent *atomic.Uint64) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	hdrs := mmsgs(s.msg)
	for !stop.Load() {
		n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&hdrs[0])), batch, 0, 0, 0)
		if errno == 0 {
			sent.Add(uint64(n))
		}
	}
	runtime.KeepAlive(hdrs)
}

func closeFD(fd int) { unix.Close(fd) }

// packetSocket opens a packet socket that sends frames out of the
// sender's interface, skipping the UDP/IP output path: a faster sender.
// Protocol 0: it receives nothing.
func packetSocket(ns string) (int, error) {
	var fd int
	err := netns.Do(ns, func() error {
		iface, err := net.InterfaceByName(testnet.SenderIf)
		if err != nil {
			return err
		}
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: iface.Index})
	})
	if err != nil && fd > 0 {
		unix.Close(fd)
	}
	return fd, err
}

// udpFrame is the frame a UDP socket of src would send to the receiver:
// Ethernet, IPv4 with its checksum, UDP without one (allowed over IPv4).
func udpFrame(src netip.Addr, payload int) []byte {
	dst, _ := net.ParseMAC(testnet.ReceiverMAC)
	srcMAC, _ := net.ParseMAC(testnet.SenderMAC)
	b := append(append(append([]byte(nil), dst...), srcMAC...), 0x08, 0x00)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+payload))
	copy(ip[12:], src.AsSlice())
	copy(ip[16:], testnet.Recv4.AsSlice())
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := make([]byte, 8+payload)
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], recvPort)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+payload))
	return append(append(b, ip...), udp...)
}

// attachXDP attaches prog (driver mode) to the receiver's interface.
func attachXDP(ns string, prog *ebpf.Program) (func(), error) {
	var l link.Link
	err := netns.Do(ns, func() error {
		iface, err := net.InterfaceByName(testnet.ReceiverIf)
		if err != nil {
			return err
		}
		l, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: iface.Index, Flags: link.XDPDriverMode})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attach the empty XDP program: %w", err)
	}
	return func() { l.Close() }, nil
}

// drain reads datagrams on fd until stop is set and returns how many. The
// socket's receive timeout lets it notice stop while nothing arrives.
func drain(fd int, stop *atomic.Bool, got *atomic.Uint64) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tv := unix.NsecToTimeval(50e6)
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return err
	}
	hdrs := mmsgs(make([]byte, 2048))
	for !stop.Load() {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])), batch, 0, 0, 0)
		switch errno {
		case 0:
			got.Add(uint64(n))
		case unix.EAGAIN, unix.EINTR:
		default:
			return errno
		}
	}
	return nil
}

// udpCounters reads Udp InDatagrams and RcvbufErrors of the namespace at
// ns: datagrams queued to sockets, and those a full socket refused.
func udpCounters(ns string) (in, rcvbuf uint64, err error) {
	err = netns.Do(ns, func() error {
		f, err := os.Open("/proc/thread-self/net/snmp")
		if err != nil {
			return err
		}
		defer f.Close()
		var names []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 0 || fields[0] != "Udp:" {
				continue
			}
			if names == nil {
				names = fields
				continue
			}
			for i, name := range names {
				v, _ := strconv.ParseUint(fields[i], 10, 64)
				switch name {
				case "InDatagrams":
					in = v
				case "RcvbufErrors":
					rcvbuf = v
				}
			}
			return nil
		}
		return errors.New("no Udp line in snmp")
	})
	return in, rcvbuf, err
}
