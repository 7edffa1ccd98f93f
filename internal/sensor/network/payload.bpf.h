/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Code received over the network: at the end of every receive on an inet
 * socket (tp_btf/sock_recv_length, which the kernel runs in sock_recvmsg
 * for read, readv, recv, recvfrom and recvmsg alike), the first 4 bytes
 * the call returned are compared with the magic numbers of a Java class
 * file (CA FE BA BE) and of an ELF binary (7F 'E' 'L' 'F'). Only a match
 * is reported (net_payload), with the first PAYLOAD_HEAD_MAX bytes.
 *
 * The tracepoint gives the sock, the byte count and the flags, not the
 * buffer: that comes from the system call's arguments, in the task's saved
 * registers. The check runs for every receive on a socket, so it is
 * ordered by cost: the byte count and flags (errors, the EAGAIN of
 * non-blocking loops, short reads leave at once), the socket's family (one
 * load: netlink and unix sockets leave), the call's number, then one read
 * of 4 bytes of the caller's buffer (for readv and recvmsg, of the first
 * iovec, which takes one or two reads more). Only the start of what one
 * call returned is looked at: a magic further in (after an HTTP response's
 * headers, say) is not seen. Helpers; the program is in network.bpf.c.
 */
#pragma once

#include "common.bpf.h"
#include "blob.bpf.h"
#include "network.h"
#include "sock.bpf.h"
#include "track.bpf.h"
#include "call.bpf.h"

#define MAGIC_LEN 4 /* bytes compared */
#define MSG_PEEK 2  /* the bytes stay queued: they are looked at when read */

/* Never read: it anchors enum net_magic in BTF, for bpf2go's -type. */
const volatile enum net_magic net_magic_anchor = NET_MAGIC_NONE;

/* payload_magic names the magic number buf starts with. */
static __always_inline enum net_magic payload_magic(__u64 buf)
{
	__u32 head;

	if (bpf_probe_read_user(&head, sizeof(head), (const void *)buf))
		return NET_MAGIC_NONE;
	switch (bpf_ntohl(head)) {
	case 0xcafebabe:
		return NET_MAGIC_JAVA_CLASS;
	case 0x7f454c46:
		return NET_MAGIC_ELF;
	}
	return NET_MAGIC_NONE;
}

/* first_iovec reads the first of the caller's iovecs into iov. */
static __always_inline bool first_iovec(struct iovec *iov, const struct iovec *vec, __u64 count)
{
	return count >= 1 && bpf_probe_read_user(iov, sizeof(*iov), vec) == 0;
}

/*
 * payload_report emits a net_payload for the len bytes at buf that start
 * with magic, with the first of them as the tail.
 */
static __always_inline void payload_report(struct sock *sk, enum net_syscall sc, long ret, long fd,
					   __u64 buf, __u64 len, enum net_magic magic)
{
	struct net_info *n = net_start(KIND_NET_PAYLOAD, sc);
	struct blob *b = blob_get();

	if (!n || !b)
		return;
	n->ret = ret;
	n->fd = fd;
	n->magic = magic;
	n->flags |= NET_TAIL_PAYLOAD;
	read_sock(n, sk);

	__u32 head = len < PAYLOAD_HEAD_MAX ? len : PAYLOAD_HEAD_MAX;
	/* head <= PAYLOAD_HEAD_MAX already; the mask bounds it for the verifier */
	head &= 2 * PAYLOAD_HEAD_MAX - 1;
	if (!head || bpf_probe_read_user(b->data, head, (const void *)buf)) {
		/* unmapped by another thread since: the magic is known, the bytes are not */
		count_drop(DROP_TRUNCATED, KIND_NET_PAYLOAD);
		head = 0;
	}
	net_emit(n, b, head);
}

/* check_recv looks at the first bytes of the ret bytes the current task
 * just received on the inet sock sk. */
static __always_inline void check_recv(struct sock *sk, long ret)
{
	struct sock_call c;

	if (!sock_call_of(&c, false))
		return;
	__u64 buf = c.a[1], cap = c.a[2];
	struct iovec iov;
	if (c.sc == NET_SYS_READV) {
		if (!first_iovec(&iov, (const struct iovec *)c.a[1], c.a[2]))
			return;
		buf = (__u64)iov.iov_base;
		cap = iov.iov_len;
	} else if (c.sc == NET_SYS_RECVMSG) {
		struct user_msghdr h;

		if (bpf_probe_read_user(&h, sizeof(h), (const void *)c.a[1]) ||
		    !first_iovec(&iov, h.msg_iov, h.msg_iovlen))
			return;
		buf = (__u64)iov.iov_base;
		cap = iov.iov_len;
	}
	/* a datagram longer than the buffer returns its length (MSG_TRUNC) */
	__u64 len = (__u64)ret < cap ? ret : cap;
	if (len < MAGIC_LEN)
		return;
	enum net_magic magic = payload_magic(buf);
	if (magic == NET_MAGIC_NONE)
		return;
	/* the registers are those of the call that received on sk: its fd
	 * holds sk (not another socket a call received on inside the kernel) */
	if ((__u64)fd_sock(c.a[0]) != (__u64)sk || !traced(bpf_get_current_task_btf()))
		return;
	payload_report(sk, c.sc, ret, c.a[0], buf, len, magic);
}
