/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The system call a socket tracepoint runs in. sock/sock_send_length and
 * sock/sock_recv_length give the sock and the byte count, not the call's
 * buffer: that comes from the call's arguments, in the task's saved
 * registers. Only the calls the sensor reports are named; any other
 * (io_uring_enter, splice, sendfile, recvmmsg, a kernel thread's own
 * socket, an ia32 call with its other numbers and registers) is
 * NET_SYS_NONE, and the caller leaves.
 */
#pragma once

#include "common.bpf.h"
#include "syscall.bpf.h"
#include "network.h"

#define PF_KTHREAD 0x00200000

/* arm64 keeps the first argument apart: at a call's end x0 holds its result */
struct pt_regs___arm64_orig {
	__u64 orig_x0;
} __attribute__((preserve_access_index));

/* The call a socket tracepoint fired in, and its arguments. */
struct sock_call {
	enum net_syscall sc;
	__u32 pad;
	__u64 a[6];
};

/* recv_nr names a receiving call by number: read, readv, recvfrom, recvmsg. */
static __always_inline enum net_syscall recv_nr(long nr, bool x86)
{
	if (nr == (x86 ? 0 : 63))
		return NET_SYS_READ;
	if (nr == (x86 ? 19 : 65))
		return NET_SYS_READV;
	if (nr == (x86 ? 45 : 207))
		return NET_SYS_RECVFROM;
	if (nr == (x86 ? 47 : 212))
		return NET_SYS_RECVMSG;
	return NET_SYS_NONE;
}

/* send_nr names a sending call by number: write, sendto, sendmsg. sendmmsg
 * is left out: its messages are read at its entry (dns.bpf.h). */
static __always_inline enum net_syscall send_nr(long nr, bool x86)
{
	if (nr == (x86 ? 1 : 64))
		return NET_SYS_WRITE;
	if (nr == (x86 ? 44 : 206))
		return NET_SYS_SENDTO;
	if (nr == (x86 ? 46 : 211))
		return NET_SYS_SENDMSG;
	return NET_SYS_NONE;
}

/*
 * sock_call_of fills c with the current task's system call, when it is
 * one of the sending (send) or receiving calls; false for anything else.
 * x86-64 numbers, or arm64's generic table.
 */
static __always_inline bool sock_call_of(struct sock_call *c, bool send)
{
	struct task_struct *task = bpf_get_current_task_btf();

	/* kernel sockets (NFS, …) have no caller's buffer; ia32 calls have
	 * other numbers and argument registers (in_compat_syscall, without a
	 * second helper call for the task) */
	if ((task->flags & PF_KTHREAD) || (bpf_core_field_exists(task->thread_info.status) &&
					   (task->thread_info.status & TS_COMPAT)))
		return false;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	bool x86 = bpf_core_field_exists(regs->di);
	long nr = syscall_nr(regs);

	c->sc = send ? send_nr(nr, x86) : recv_nr(nr, x86);
	if (c->sc == NET_SYS_NONE)
		return false;
	syscall_args(regs, false, c->a);
	if (!x86) {
		struct pt_regs___arm64_orig *r = (void *)regs;

		c->a[0] = r->orig_x0;
	}
	return true;
}
