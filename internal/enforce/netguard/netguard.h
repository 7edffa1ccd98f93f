/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The network deny tables and the record of a decision; bpf2go generates
 * their Go twins. Only fixed-width types, explicit padding.
 */
#pragma once

#include "common.h"
#include "enforce.h"

#define NET_DENY_MAX (1 << 21) /* entries per connect table (IPv4, IPv6): room for intel feeds */
#define NET_BIND_MAX (1 << 12) /* entries per bind table */
#define NET_PORT_WORDS 1024    /* 65536 ports, one bit each */
#define NET_KEY_HEAD_BITS 32   /* proto, pad and port: always matched whole */

/* What the caller was doing. */
enum net_op {
	NET_OP_CONNECT = 1,
	NET_OP_SENDMSG = 2, /* an unconnected UDP datagram */
	NET_OP_BIND = 3,
};

/* The protocol byte of a key: IPPROTO numbers, 0 for any protocol. */
enum net_proto {
	NET_PROTO_ANY = 0,
	NET_PROTO_TCP = 6,
	NET_PROTO_UDP = 17,
};

/* The deny tables, also the index of their port bitmaps in net_ports. */
enum net_table {
	NET_TABLE_CONNECT4 = 0,
	NET_TABLE_CONNECT6 = 1,
	NET_TABLE_BIND4 = 2,
	NET_TABLE_BIND6 = 3,
	NET_TABLE_COUNT = 4,
};

/* net_record.flags */
enum net_flag {
	/* an ::ffff:a.b.c.d address on an IPv6 socket, judged by the IPv4 rules */
	NET_V4_MAPPED = 1 << 0,
	/* the IPv6 hook decided (connect6, sendmsg6, bind6); an IPv6 socket
	 * sending to a mapped address goes through sendmsg4 */
	NET_HOOK6 = 1 << 1,
};

/*
 * LPM trie keys. The protocol and port come before the address, so an entry
 * is (protocol, port, CIDR): prefixlen is NET_KEY_HEAD_BITS plus the CIDR's
 * length, and protocol 0 / port 0 are the entries for any protocol / port,
 * looked up separately. The port is in network byte order, as the socket
 * address holds it; the address bytes are in network order too.
 */
struct net_key4 {
	__u32 prefixlen;
	__u8 proto; /* enum net_proto */
	__u8 pad;   /* always 0 */
	__u16 port; /* network byte order; 0 = any port */
	__u8 addr[4];
};

struct net_key6 {
	__u32 prefixlen;
	__u8 proto;
	__u8 pad;
	__u16 port;
	__u8 addr[16];
};

/*
 * The value of a deny entry. User space folds into each entry the verdicts
 * of the shorter prefixes of the same (protocol, port) that contain it, so
 * that the longest match answers for all of them. bits is the entry's CIDR
 * length, which the trie does not return: records name the entry with it.
 */
struct net_entry {
	struct verdict verdict;
	__u32 bits;
	__u32 pad;
};

/*
 * Which (protocol, port) pairs of a table have entries: bit p of a class
 * is set when some entry has port p, bit 0 when some entry has any port.
 * The programs look up only the pairs whose bit is set, so a table without
 * entries costs one array lookup, and a CIDR-only list one trie lookup.
 */
struct net_port_bits {
	__u64 any[NET_PORT_WORDS]; /* entries for any protocol */
	__u64 tcp[NET_PORT_WORDS];
	__u64 udp[NET_PORT_WORDS];
};

/* The deny entry a decision came from. */
struct net_match {
	__u16 family; /* AF_INET or AF_INET6: the table */
	__u8 proto;   /* enum net_proto */
	__u8 pad;
	__u16 port; /* host byte order; 0 = any port */
	__u16 bits; /* CIDR length; the address is the record's, masked */
};

/* KIND_ENFORCE_NET: a connect, sendmsg or bind that a policy acted on. */
struct net_record {
	struct record_header hdr;
	struct enforce_hit hit;
	__u8 op;	/* enum net_op */
	__u8 flags;	/* enum net_flag */
	__u16 family;	/* the socket's AF_* */
	__u16 protocol; /* the socket's IPPROTO_* */
	__u16 port;	/* host byte order: destination, or local for bind */
	__u8 addr[16];	/* same; IPv4 in the first 4 bytes */
	struct net_match match;
};
