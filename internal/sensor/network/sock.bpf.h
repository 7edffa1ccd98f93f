/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * From a file descriptor to the kernel's socket, and what the socket says
 * about its endpoints. The kernel's view is preferred to the caller's
 * buffers: it is what the connection really uses.
 */
#pragma once

#include "common.bpf.h"
#include "kfuncs.bpf.h"
#include "args.bpf.h"
#include <bpf/bpf_endian.h>
#include "network.h"

/* #defines of the uapi headers, which are not in BTF */
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_PACKET 17
#define SOCK_RAW 3
#define SOCK_PACKET 10
#define SOCK_TYPE_MASK 0xf
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINPROGRESS 115
#define SUN_PATH_OFF 2 /* offsetof(struct sockaddr_un, sun_path) */

/* Report AF_UNIX sockets too: local IPC is frequent, so off by default. */
const volatile bool report_unix = false;

/* TCP, or MPTCP (Go listens with MPTCP by default since 1.24): both go
 * through the TCP states and sock/inet_sock_set_state. */
static __always_inline bool tcp_like(__u16 protocol)
{
	return protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP;
}

static __always_inline bool family_wanted(__u16 family)
{
	return family == AF_INET || family == AF_INET6 || (family == AF_UNIX && report_unix);
}

/*
 * Reads go through BTF-typed pointers: a load from one is a single
 * instruction with a fault handler, where BPF_CORE_READ is a helper call
 * per field. bpf_rdonly_cast types an address the verifier sees as a plain
 * number (file->private_data); fd_file (args.bpf.h) returns a typed file.
 */

static __always_inline struct task_struct *current_task(void)
{
	return bpf_get_current_task_btf();
}

/* fd_sock is the sock behind the current task's fd, or NULL when fd is
 * not a socket. */
static __always_inline struct sock *fd_sock(long fd)
{
	struct file *f = fd_file(current_task(), fd);

	if (!f || (f->f_inode->i_mode & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *sock =
		bpf_rdonly_cast(f->private_data, bpf_core_type_id_kernel(struct socket));
	return sock->sk;
}

/* read_sock fills family, type, protocol and both endpoints from sk. */
static __always_inline void read_sock(struct net_info *n, struct sock *sk)
{
	n->family = sk->__sk_common.skc_family;
	n->type = sk->sk_type;
	n->protocol = sk->sk_protocol;
	if (n->family != AF_INET && n->family != AF_INET6)
		return;
	n->sport = sk->__sk_common.skc_num;
	n->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (n->family == AF_INET) {
		*(__u32 *)n->saddr = sk->__sk_common.skc_rcv_saddr;
		*(__u32 *)n->daddr = sk->__sk_common.skc_daddr;
	} else {
		__builtin_memcpy(n->saddr, &sk->__sk_common.skc_v6_rcv_saddr, sizeof(n->saddr));
		__builtin_memcpy(n->daddr, &sk->__sk_common.skc_v6_daddr, sizeof(n->daddr));
	}
}

static __always_inline bool addr_unset(const __u8 *a)
{
	const __u64 *w = (const __u64 *)a;

	return w[0] == 0 && w[1] == 0;
}

/* A sockaddr as the caller passed it, copied at syscall entry. */
struct user_addr {
	__u32 len; /* bytes copied into addr */
	__u8 addr[SOCKADDR_MAX];
};

/* copy_user_addr copies a caller's sockaddr; false when it is unreadable. */
static __always_inline bool copy_user_addr(struct user_addr *u, const void *src, __u64 len)
{
	if (!src || len < sizeof(__u16))
		return false;
	if (len > SOCKADDR_MAX)
		len = SOCKADDR_MAX;
	u->len = len;
	return bpf_probe_read_user(u->addr, len, src) == 0;
}

static __always_inline __u16 user_addr_family(const struct user_addr *u)
{
	return *(const __u16 *)u->addr;
}

/* user_addr_endpoint reads the port and address of an inet sockaddr. */
static __always_inline bool user_addr_endpoint(const struct user_addr *u, __u16 *port, __u8 *addr)
{
	__u16 family = user_addr_family(u);

	if (family == AF_INET && u->len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)u->addr;
		*port = bpf_ntohs(in->sin_port);
		__builtin_memcpy(addr, &in->sin_addr, 4);
		return true;
	}
	if (family == AF_INET6 && u->len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)u->addr;
		*port = bpf_ntohs(in6->sin6_port);
		__builtin_memcpy(addr, &in6->sin6_addr, 16);
		return true;
	}
	return false;
}

/* tail_user_path copies the sun_path of a caller's sockaddr_un into the
 * blob; returns its length. */
static __always_inline __u16 tail_user_path(struct blob *b, const struct user_addr *u)
{
	__u32 len = u->len;

	if (len <= SUN_PATH_OFF || len > SOCKADDR_MAX)
		return 0;
	len -= SUN_PATH_OFF;
	/* the mask is a no-op (len < 128); it bounds the copy for the verifier */
	bpf_probe_read_kernel(b->data, len & 127, u->addr + SUN_PATH_OFF);
	return len;
}

/* tail_sock_path copies the sun_path a unix sock is bound to into the
 * blob; returns its length, 0 for an unnamed socket. */
static __always_inline __u16 tail_sock_path(struct blob *b, struct sock *sk)
{
	struct unix_sock *u = (void *)sk;
	struct unix_address *ua = BPF_CORE_READ(u, addr);

	if (!ua)
		return 0;
	int len = BPF_CORE_READ(ua, len);
	if (len <= SUN_PATH_OFF || len > SOCKADDR_MAX)
		return 0;
	len -= SUN_PATH_OFF;
	bpf_probe_read_kernel(b->data, len & 127,
			      (void *)ua + bpf_core_field_offset(struct unix_address, name) +
				      SUN_PATH_OFF);
	return len;
}

/* tail_peer_path is tail_sock_path of a connected unix socket's peer. */
static __always_inline __u16 tail_peer_path(struct blob *b, struct sock *sk)
{
	struct unix_sock *u = (void *)sk;
	struct sock *peer = BPF_CORE_READ(u, peer);

	return peer ? tail_sock_path(b, peer) : 0;
}
