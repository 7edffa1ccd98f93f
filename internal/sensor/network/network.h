/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Records of the network sensor; bpf2go generates their Go twins. */
#pragma once

#include "common.h"
#include "blob.h"

#define DNS_PORTS_MAX 8	    /* UDP ports whose payload is read as DNS */
#define DNS_PAYLOAD_MAX 512 /* DNS bytes copied per query: header + first question fit */
#define DNS_MMSG_MAX 4	    /* messages of one sendmmsg looked at (glibc sends 2) */
#define SOCKADDR_MAX 112    /* sizeof(struct sockaddr_un) is 110 */
#define PAYLOAD_HEAD_MAX 16 /* received bytes a net_payload carries */

/* The system call behind a record; user space names it. */
enum net_syscall {
	NET_SYS_NONE = 0, /* net_close: the TCP stack, not a call */
	NET_SYS_CONNECT = 1,
	NET_SYS_ACCEPT = 2,
	NET_SYS_ACCEPT4 = 3,
	NET_SYS_LISTEN = 4,
	NET_SYS_BIND = 5,
	NET_SYS_SOCKET = 6,
	NET_SYS_SENDTO = 7,
	NET_SYS_SENDMSG = 8,
	NET_SYS_SENDMMSG = 9,
	NET_SYS_WRITE = 10,
	NET_SYS_DUP = 11,
	NET_SYS_DUP2 = 12,
	NET_SYS_DUP3 = 13,
	NET_SYS_FCNTL = 14,
	NET_SYS_RECVFROM = 15,
	NET_SYS_RECVMSG = 16,
	NET_SYS_READ = 17,
	NET_SYS_READV = 18,
};

/* What received bytes start with (net_info.magic of a net_payload). */
enum net_magic {
	NET_MAGIC_NONE = 0,
	NET_MAGIC_JAVA_CLASS = 1, /* CA FE BA BE */
	NET_MAGIC_ELF = 2,	  /* 7F 'E' 'L' 'F' */
};

/* net_info.flags: where the addresses and the tail come from. */
enum net_flag {
	/* daddr/dport (connect, sendto) or saddr/sport (bind) are what the
	 * caller passed: the socket did not hold them (any more) at exit */
	NET_ADDR_FROM_USER = 1 << 0,
	NET_TAIL_DNS = 1 << 1,	      /* the tail is a DNS message */
	NET_TAIL_UNIX_LOCAL = 1 << 2, /* the tail is the socket's own sun_path */
	NET_TAIL_UNIX_PEER = 1 << 3,  /* the tail is the peer's sun_path */
	NET_DNS_CUT = 1 << 4,	      /* the DNS message was longer than the tail */
	NET_TAIL_PAYLOAD = 1 << 5,    /* the tail is the first bytes received */
};

/*
 * One record for every network kind; the kind in the header says which
 * fields mean something. tail_len bytes follow the struct: a DNS message,
 * a unix socket path or the first bytes received, as flags say.
 */
struct net_info {
	struct record_header hdr;
	__s64 ret; /* the call's result: fd, 0 or -errno */
	enum net_syscall syscall;
	enum net_flag flags; /* a set of net_flag bits */
	__u16 family;	     /* AF_* */
	__u16 type;	     /* SOCK_* (flags masked off) */
	__u16 protocol;	     /* IPPROTO_*; for AF_PACKET the ethertype */
	__u16 sport;	     /* host byte order */
	__u16 dport;	     /* host byte order */
	__u16 tail_len;
	__u8 state;	/* net_close: the TCP state entered (CLOSE) */
	__u8 old_state; /* net_close: the state it left */
	__u16 magic;	/* net_payload: an enum net_magic */
	__s32 fd;	/* the socket's fd; fd_redirect: the old fd */
	__s32 new_fd;	/* fd_redirect: 0, 1 or 2 */
	__s32 backlog;	/* net_listen */
	__s32 sk_err;	/* net_close: the socket's pending error (errno) */
	__u8 saddr[16]; /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
};
