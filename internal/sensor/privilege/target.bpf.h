/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ptrace and process_vm_writev: the other process, found in the kernel. */
#pragma once

#include "record.bpf.h"
#include "path.bpf.h"
#include "kfuncs.bpf.h"

/* ptrace requests, from include/uapi/linux/ptrace.h */
#define PTRACE_TRACEME 0
#define PTRACE_POKETEXT 4
#define PTRACE_POKEDATA 5
#define PTRACE_POKEUSR 6
#define PTRACE_SETREGS 13
#define PTRACE_SETFPREGS 15
#define PTRACE_ATTACH 16
#define PTRACE_SETREGSET 0x4205
#define PTRACE_SEIZE 0x4206

/* bpf_task_from_vpid (6.13+) and bpf_task_from_pid (6.2+) are weak
 * (kfuncs.bpf.h): a kernel without them loads the sensor, and finds no
 * targets. */

/* find_task returns a reference to the task the caller knows as vpid. */
static __always_inline struct task_struct *find_task(struct task_struct *caller, long vpid)
{
	if (ksym_exists(bpf_task_from_vpid))
		return bpf_task_from_vpid(vpid);
	/* before 6.13: only a caller in the initial pid namespace, whose
	 * pids are the host's, can be resolved */
	if (ksym_exists(bpf_task_from_pid) && BPF_CORE_READ(caller, thread_pid, level) == 0)
		return bpf_task_from_pid(vpid);
	return NULL;
}

/*
 * ptrace_reported: the requests that take control of a process or change
 * it. Reading requests (PEEK*, GETREGS) and the tracer's own bookkeeping
 * (CONT, DETACH, SETOPTIONS …) follow from an attach and are not
 * reported: a debugger makes thousands of them.
 */
static __always_inline bool ptrace_reported(long request)
{
	switch (request) {
	case PTRACE_TRACEME:
	case PTRACE_ATTACH:
	case PTRACE_SEIZE:
	case PTRACE_POKETEXT:
	case PTRACE_POKEDATA:
	case PTRACE_POKEUSR:
	case PTRACE_SETREGS:
	case PTRACE_SETFPREGS:
	case PTRACE_SETREGSET:
		return true;
	}
	return false;
}

static __always_inline void emit_target(struct task_struct *task, struct call_entry *in, long ret)
{
	union record *r = begin(sizeof(struct target_info), task, in, ret);
	struct blob *b = blob_get();
	struct file *exe = NULL;
	__u32 used = 0;

	if (!r || !b)
		return;
	if (in->call == CALL_PTRACE && in->args[0] == PTRACE_TRACEME) {
		/* the tracee asks: its parent becomes the tracer */
		struct task_struct *parent = BPF_CORE_READ(task, real_parent);

		r->target.pid = BPF_CORE_READ(parent, tgid);
		r->target.tid = BPF_CORE_READ(parent, pid);
		exe = BPF_CORE_READ(parent, mm, exe_file);
		r->call.flags |= PRIV_TARGET_FOUND;
	} else {
		/* ptrace's second argument, process_vm_writev's first */
		long vpid = in->call == CALL_PTRACE ? in->args[1] : in->args[0];
		struct task_struct *t = find_task(task, vpid);

		if (t) {
			r->target.pid = t->tgid;
			r->target.tid = t->pid;
			exe = BPF_CORE_READ(t, mm, exe_file);
			r->call.flags |= PRIV_TARGET_FOUND;
			bpf_task_release(t);
		}
	}
	/* the file is read without a reference, like every path here: a
	 * racing exit leaves at worst a cut path, which is flagged */
	if (exe && !blob_file_path(&used, &r->target.binary, exe))
		r->call.flags |= PRIV_STR_CUT;
	finish(r, sizeof(struct target_info), b, used);
}
