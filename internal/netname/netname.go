// Package netname names the kernel's socket constants (address families,
// socket types, protocols, packet sockets' ethertypes) as events spell
// them. The network sensor and the netguard enforcement mechanism both
// name sockets through it, so one socket reads the same in either's events.
package netname

import (
	"fmt"

	"golang.org/x/sys/unix"
)

var families = map[uint16]string{
	unix.AF_INET:   "inet",
	unix.AF_INET6:  "inet6",
	unix.AF_UNIX:   "unix",
	unix.AF_PACKET: "packet",
}

var socketTypes = map[uint16]string{
	unix.SOCK_STREAM:    "stream",
	unix.SOCK_DGRAM:     "dgram",
	unix.SOCK_RAW:       "raw",
	unix.SOCK_RDM:       "rdm",
	unix.SOCK_SEQPACKET: "seqpacket",
	unix.SOCK_DCCP:      "dccp",
	unix.SOCK_PACKET:    "packet",
}

var inetProtocols = map[uint16]string{
	unix.IPPROTO_IP:      "ip",
	unix.IPPROTO_ICMP:    "icmp",
	unix.IPPROTO_IGMP:    "igmp",
	unix.IPPROTO_TCP:     "tcp",
	unix.IPPROTO_UDP:     "udp",
	unix.IPPROTO_ICMPV6:  "icmpv6",
	unix.IPPROTO_SCTP:    "sctp",
	unix.IPPROTO_UDPLITE: "udplite",
	unix.IPPROTO_RAW:     "raw",
	unix.IPPROTO_MPTCP:   "mptcp",
}

var ethertypes = map[uint16]string{
	unix.ETH_P_ALL:  "all",
	unix.ETH_P_IP:   "ip",
	unix.ETH_P_IPV6: "ipv6",
	unix.ETH_P_ARP:  "arp",
}

// Family names an address family ("inet6"); "af_<n>" when unknown.
func Family(f uint16) string { return lookup(families, f, "af_%d") }

// SocketType names a socket type ("stream"); "type_<n>" when unknown.
func SocketType(t uint16) string { return lookup(socketTypes, t, "type_%d") }

// Protocol names an inet protocol ("tcp"; "proto_<n>" when unknown), or,
// for packet sockets, the ethertype they receive ("arp"; "0x<hex>").
// Every unix socket's protocol is "unix".
func Protocol(family, proto uint16) string {
	switch family {
	case unix.AF_UNIX:
		return "unix"
	case unix.AF_PACKET:
		return lookup(ethertypes, proto, "0x%04x")
	}
	return lookup(inetProtocols, proto, "proto_%d")
}

func lookup(names map[uint16]string, v uint16, unknown string) string {
	if name, ok := names[v]; ok {
		return name
	}
	return fmt.Sprintf(unknown, v)
}
