/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * System calls seen from their registers: the number and arguments of the
 * call a task is in, for the dispatchers on the raw sys_enter and sys_exit
 * tracepoints (calls the kernel has no syscalls/ tracepoint for) and for
 * programs that read a call's arguments from the task's saved registers at
 * its exit. x86-64 (with its ia32 compat calls) and arm64.
 *
 * The registers are read with plain loads through the typed pointer
 * (tp_btf's regs, bpf_task_pt_regs), not bpf_probe_read_kernel: a
 * dispatcher runs for every system call of the host.
 */
#pragma once

#include "common.bpf.h"

#define TS_COMPAT 0x0002 /* x86 thread_info.status: inside a 32-bit syscall */

/* arm64's registers, relocated only there (vmlinux.h is x86-64's) */
struct pt_regs___arm64 {
	__u64 regs[31];
	__s32 syscallno;
} __attribute__((preserve_access_index));

/* in_compat_syscall: the current task is in a 32-bit (ia32) system call,
 * whose numbers and argument registers are not x86-64's. */
static __always_inline bool in_compat_syscall(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return bpf_core_field_exists(task->thread_info.status) &&
	       (task->thread_info.status & TS_COMPAT);
}

/* syscall_nr is the number of the call regs were saved for (orig_ax, which
 * the return value does not overwrite, or arm64's syscallno). */
static __always_inline long syscall_nr(struct pt_regs *regs)
{
	if (bpf_core_field_exists(regs->orig_ax))
		return regs->orig_ax;

	struct pt_regs___arm64 *r = (void *)regs;

	return r->syscallno;
}

/*
 * syscall_args reads the six argument registers of the call regs were saved
 * for; compat: an ia32 call's (ebx, ecx, edx, esi, edi, ebp). At the
 * call's exit only the return value register has been written: on arm64
 * that is x0, the first argument.
 */
static __always_inline void syscall_args(struct pt_regs *regs, bool compat, __u64 args[6])
{
	if (bpf_core_field_exists(regs->di)) {
		if (compat) {
			args[0] = (__u32)regs->bx;
			args[1] = (__u32)regs->cx;
			args[2] = (__u32)regs->dx;
			args[3] = (__u32)regs->si;
			args[4] = (__u32)regs->di;
			args[5] = (__u32)regs->bp;
			return;
		}
		args[0] = regs->di;
		args[1] = regs->si;
		args[2] = regs->dx;
		args[3] = regs->r10;
		args[4] = regs->r8;
		args[5] = regs->r9;
		return;
	}

	struct pt_regs___arm64 *r = (void *)regs;

	for (int i = 0; i < 6; i++)
		args[i] = r->regs[i];
}
