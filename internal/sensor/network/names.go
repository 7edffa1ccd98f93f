package network

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// familyName names an address family as events do.
func familyName(f uint16) string {
	switch f {
	case unix.AF_INET:
		return "inet"
	case unix.AF_INET6:
		return "inet6"
	case unix.AF_UNIX:
		return "unix"
	case unix.AF_PACKET:
		return "packet"
	}
	return fmt.Sprintf("af_%d", f)
}

func socketTypeName(t uint16) string {
	switch t {
	case unix.SOCK_STREAM:
		return "stream"
	case unix.SOCK_DGRAM:
		return "dgram"
	case unix.SOCK_RAW:
		return "raw"
	case unix.SOCK_RDM:
		return "rdm"
	case unix.SOCK_SEQPACKET:
		return "seqpacket"
	case unix.SOCK_DCCP:
		return "dccp"
	case unix.SOCK_PACKET:
		return "packet"
	}
	return fmt.Sprintf("type_%d", t)
}

// protocolName names an inet protocol, or, for packet sockets, the
// ethertype they receive.
func protocolName(family, proto uint16) string {
	switch family {
	case unix.AF_UNIX:
		return "unix"
	case unix.AF_PACKET:
		switch proto {
		case unix.ETH_P_ALL:
			return "all"
		case unix.ETH_P_IP:
			return "ip"
		case unix.ETH_P_IPV6:
			return "ipv6"
		case unix.ETH_P_ARP:
			return "arp"
		}
		return fmt.Sprintf("0x%04x", proto)
	}
	switch proto {
	case unix.IPPROTO_IP:
		return "ip"
	case unix.IPPROTO_ICMP:
		return "icmp"
	case unix.IPPROTO_IGMP:
		return "igmp"
	case unix.IPPROTO_TCP:
		return "tcp"
	case unix.IPPROTO_UDP:
		return "udp"
	case unix.IPPROTO_ICMPV6:
		return "icmpv6"
	case unix.IPPROTO_SCTP:
		return "sctp"
	case unix.IPPROTO_UDPLITE:
		return "udplite"
	case unix.IPPROTO_RAW:
		return "raw"
	case unix.IPPROTO_MPTCP:
		return "mptcp"
	}
	return fmt.Sprintf("proto_%d", proto)
}

// tcpStateName names a TCP state as include/net/tcp_states.h does.
func tcpStateName(s uint8) string {
	names := [...]string{
		1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
		6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
		11: "CLOSING", 12: "NEW_SYN_RECV", 13: "BOUND_INACTIVE",
	}
	if int(s) < len(names) && names[s] != "" {
		return names[s]
	}
	return fmt.Sprintf("STATE_%d", s)
}

func syscallName(s networkNetSyscall) string {
	names := [...]string{
		networkNetSyscallNET_SYS_CONNECT:  "connect",
		networkNetSyscallNET_SYS_ACCEPT:   "accept",
		networkNetSyscallNET_SYS_ACCEPT4:  "accept4",
		networkNetSyscallNET_SYS_LISTEN:   "listen",
		networkNetSyscallNET_SYS_BIND:     "bind",
		networkNetSyscallNET_SYS_SOCKET:   "socket",
		networkNetSyscallNET_SYS_SENDTO:   "sendto",
		networkNetSyscallNET_SYS_SENDMSG:  "sendmsg",
		networkNetSyscallNET_SYS_SENDMMSG: "sendmmsg",
		networkNetSyscallNET_SYS_WRITE:    "write",
		networkNetSyscallNET_SYS_DUP:      "dup",
		networkNetSyscallNET_SYS_DUP2:     "dup2",
		networkNetSyscallNET_SYS_DUP3:     "dup3",
		networkNetSyscallNET_SYS_FCNTL:    "fcntl",
	}
	if int(s) < len(names) {
		return names[s]
	}
	return ""
}

// errnoName names an errno ("ECONNREFUSED"); "errno_<n>" when unknown.
func errnoName(errno int64) string {
	if name := unix.ErrnoName(syscall.Errno(errno)); name != "" {
		return name
	}
	return fmt.Sprintf("errno_%d", errno)
}

// result is what a call's return value says: "success" or the errno.
func result(ret int64) string {
	if ret >= 0 {
		return "success"
	}
	return errnoName(-ret)
}
