/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DNS queries, seen where they leave the process: sendto, sendmsg,
 * sendmmsg (glibc sends A and AAAA together) and write (Go's resolver) on
 * UDP sockets whose destination port is a DNS port. The kernel only checks
 * that the message looks like a query; user space parses the question.
 * Helpers and maps; the programs are in network.bpf.c.
 */
#pragma once

#include "common.bpf.h"
#include "blob.bpf.h"
#include "network.h"
#include "sock.bpf.h"
#include "track.bpf.h"
#include "call.bpf.h"

#define DNS_HEADER_LEN 12
#define DNS_MIN_LEN (DNS_HEADER_LEN + 5) /* the root name, type and class */
#define DNS_QR 0x80			 /* flags byte 2: set in responses */

/* UDP destination ports whose payload is DNS; set by the loader. */
const volatile __u16 dns_ports[DNS_PORTS_MAX] = {};
const volatile __u32 dns_port_count = 0;

static __always_inline bool dns_port(__u16 port)
{
	for (int i = 0; i < DNS_PORTS_MAX; i++) {
		if (i >= dns_port_count)
			break;
		if (dns_ports[i] == port)
			return true;
	}
	return false;
}

/* dns_sock is fd's sock if it is an inet UDP socket. */
static __always_inline struct sock *dns_sock(long fd)
{
	struct sock *sk = fd_sock(fd);

	if (!sk || sk->sk_protocol != IPPROTO_UDP)
		return NULL;
	__u16 family = sk->__sk_common.skc_family;
	return family == AF_INET || family == AF_INET6 ? sk : NULL;
}

/* One message to send: where to (NULL: the socket's peer) and what. */
struct dns_msg {
	__u64 name; /* user pointers, as numbers: bpf2go has no pointer types */
	__u64 namelen;
	__u64 buf;
	__u64 len;
	__s64 fd;
	enum net_syscall syscall;
	__u16 port; /* destination, host order */
	__u16 pad;
	__u8 addr[16];
	struct user_addr user;
	__u32 pad2;
};

/* Scratch for dns_msg: too large for the stack next to the callers'. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_msg);
} dns_msgs SEC(".maps");

static __always_inline struct dns_msg *dns_msg_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&dns_msgs, &zero);
}

/* dns_dest fills m's destination (its address, or else sk's peer) and
 * says whether it is a DNS port. */
static __always_inline bool dns_dest(struct sock *sk, struct dns_msg *m)
{
	if (m->len < DNS_MIN_LEN)
		return false;
	__builtin_memset(m->addr, 0, sizeof(m->addr));
	if (m->name) {
		if (!copy_user_addr(&m->user, (const void *)m->name, m->namelen) ||
		    !user_addr_endpoint(&m->user, &m->port, m->addr))
			return false;
	} else {
		m->port = bpf_ntohs(sk->__sk_common.skc_dport);
	}
	return dns_port(m->port);
}

/* dns_report reports m, bound for a DNS port, if it looks like a query. */
static __always_inline void dns_report(struct sock *sk, struct dns_msg *m)
{
	if (!traced(current_task()))
		return;

	struct blob *b = blob_get();
	if (!b)
		return;
	__u32 copy = m->len < DNS_PAYLOAD_MAX ? m->len : DNS_PAYLOAD_MAX;
	/* copy <= DNS_PAYLOAD_MAX already; the mask bounds it for the verifier */
	copy &= 2 * DNS_PAYLOAD_MAX - 1;
	if (copy < DNS_MIN_LEN || bpf_probe_read_user(b->data, copy, (const void *)m->buf))
		return;
	if ((b->data[2] & DNS_QR) || (b->data[4] == 0 && b->data[5] == 0))
		return; /* a response, or no question */

	struct net_info *n = net_start(KIND_DNS_QUERY, m->syscall);
	if (!n)
		return;
	n->fd = m->fd;
	read_sock(n, sk);
	if (m->name) {
		n->dport = m->port;
		__builtin_memcpy(n->daddr, m->addr, sizeof(n->daddr));
		n->flags |= NET_ADDR_FROM_USER;
	}
	n->flags |= NET_TAIL_DNS;
	if (m->len > DNS_PAYLOAD_MAX)
		n->flags |= NET_DNS_CUT;
	net_emit(n, b, copy);
}

/* dns_send reports m if it goes to a DNS port and looks like a query. */
static __always_inline void dns_send(struct sock *sk, struct dns_msg *m)
{
	if (dns_dest(sk, m))
		dns_report(sk, m);
}

/* dns_start returns fd's UDP sock and an empty message, when DNS is watched. */
static __always_inline struct dns_msg *dns_start(long fd, enum net_syscall sc, struct sock **sk)
{
	if (!dns_port_count)
		return NULL;
	*sk = dns_sock(fd);
	if (!*sk)
		return NULL;
	struct dns_msg *m = dns_msg_get();
	if (!m)
		return NULL;
	m->fd = fd;
	m->syscall = sc;
	m->name = 0;
	m->namelen = 0;
	return m;
}

/* sendmsg_parts fills m from a user msghdr: its address and first iovec
 * (a query split over iovecs is not parsed). */
static __always_inline bool msghdr_parts(struct dns_msg *m, const struct user_msghdr *umsg)
{
	struct user_msghdr h;
	struct iovec iov;

	if (bpf_probe_read_user(&h, sizeof(h), umsg) || h.msg_iovlen < 1 ||
	    bpf_probe_read_user(&iov, sizeof(iov), h.msg_iov))
		return false;
	m->name = (__u64)h.msg_name;
	m->namelen = h.msg_name ? h.msg_namelen : 0;
	m->buf = (__u64)iov.iov_base;
	m->len = iov.iov_len;
	return true;
}

struct mmsg_walk {
	struct sock *sk;
	const struct mmsghdr *vec;
	__u32 vlen;
};

static long mmsg_step(__u32 i, void *arg)
{
	struct mmsg_walk *w = arg;
	/* copied out first: BPF_CORE_READ-style relocations must not touch w */
	const struct mmsghdr *vec = w->vec;
	struct sock *sk = w->sk;
	struct dns_msg *m = dns_msg_get();

	if (i >= w->vlen || !m)
		return 1;
	m->name = 0;
	m->namelen = 0;
	/* struct mmsghdr is user ABI: msg_hdr first, 64 bytes each */
	if (msghdr_parts(m, (const void *)vec + (__u64)i * sizeof(struct mmsghdr)))
		dns_send(sk, m);
	return 0;
}

/*
 * dns_sent looks at what the current task's write, sendto or sendmsg just
 * sent on sk (tp_btf/sock_send_length, run at the end of every send on a
 * socket, and only there: writes to files and pipes pay nothing). The
 * order is by cost: UDP (one load; the caller checked it), inet, the
 * call, the destination port (a load, or for an address passed with the
 * call one read of it); only a DNS port's message is read. Its fd must
 * hold sk: a send the kernel made on another socket inside the call (an
 * NFS file's write, say) is not the caller's.
 */
static __always_inline void dns_sent(struct sock *sk)
{
	__u16 family = sk->__sk_common.skc_family;
	struct sock_call c;

	if ((family != AF_INET && family != AF_INET6) || !sock_call_of(&c, true))
		return;
	struct dns_msg *m = dns_msg_get();
	if (!m)
		return;
	m->fd = c.a[0];
	m->syscall = c.sc;
	m->name = 0;
	m->namelen = 0;
	if (c.sc == NET_SYS_SENDMSG) {
		if (!msghdr_parts(m, (const struct user_msghdr *)c.a[1]))
			return;
	} else {
		m->buf = c.a[1];
		m->len = c.a[2];
		if (c.sc == NET_SYS_SENDTO) {
			m->name = c.a[4];
			m->namelen = c.a[5];
		}
	}
	if (dns_dest(sk, m) && fd_sock(m->fd) == sk)
		dns_report(sk, m);
}
