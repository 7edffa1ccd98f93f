//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The privilege and kernel-integrity sensor: changes of ids and
 * capabilities, ptrace and process_vm_writev, namespaces, mounts, chroot,
 * pivot_root, kernel modules, bpf() loads and attaches, kexec, userfaultfd
 * and personality.
 *
 * One program is attached to the entry tracepoint of every watched system
 * call and one to their exits, so calls nobody watches pay only the
 * kernel's per-syscall tracepoint check. The entry keeps what the exit
 * needs (the arguments, the ids before) per thread; the exit reports the
 * call with its outcome. A call the kernel has no tracepoint for (modules
 * and kexec on a kernel built without them: every call fails with ENOSYS,
 * but the attempt tells) is watched by a dispatcher on the raw sys_enter
 * and sys_exit tracepoints instead, which every system call pays for; the
 * loader attaches it only when such a call is asked for.
 */
#include "common.bpf.h"
#include "blob.bpf.h"
#include "args.bpf.h"
#include "privilege.h"
#include "record.bpf.h"
#include "creds.bpf.h"
#include "target.bpf.h"
#include "namespaces.bpf.h"
#include "mounts.bpf.h"
#include "kernel_calls.bpf.h"
#include "syscall.bpf.h"
#include "module.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline struct nr_call *nr_call(long nr)
{
	__u32 key = nr;

	if (nr < 0 || nr >= NR_MAX)
		return NULL;
	return bpf_map_lookup_elem(&nr_calls, &key);
}

/* enter keeps the entry state of a call that is to be reported. */
static __always_inline int enter(struct nr_call *nc, __u64 *args)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 call = nc->call;
	struct call_entry in = {};

	switch (call) {
	case CALL_NONE:
		return 0;
	case CALL_PTRACE:
		if (!ptrace_reported(args[0]))
			return 0;
		break;
	case CALL_UNSHARE:
	case CALL_CLONE:
	case CALL_CLONE3:
		in.aux = ns_flags_at_entry(call, args);
		if (!(in.aux & CLONE_NEW_ANY))
			return 0;
		break;
	case CALL_BPF:
		if (!bpf_cmd_reported(args[0]))
			return 0;
		break;
	case CALL_PERSONALITY:
		if ((__u32)args[0] == PERSONALITY_QUERY)
			return 0;
		break;
	}
	if (!traced(task))
		return 0;

	in.call = call;
	for (int i = 0; i < 6; i++)
		in.args[i] = i < nc->nargs ? args[i] : 0;
	if (call_kind(call) == KIND_PRIVILEGE_CHANGE)
		read_creds(task, &in.creds, &in.caps);
	if (call == CALL_SETNS)
		in.ns_types = setns_types(task, args[0], args[1]);

	__u64 key = bpf_get_current_pid_tgid();

	if (bpf_map_update_elem(&inflight, &key, &in, BPF_ANY)) {
		count_drop(DROP_MAP_FULL, call_kind(call));
		return 0;
	}
	if (call == CALL_PIVOT_ROOT)
		save_entry_cwd(task, key);
	return 0;
}

static __always_inline void emit_plain(struct task_struct *task, struct call_entry *in, long ret)
{
	union record *r = begin(sizeof(struct call_info), task, in, ret);
	struct blob *b = blob_get();

	if (r && b)
		finish(r, sizeof(struct call_info), b, 0);
}

/* leave reports the call the thread is returning from, if it was kept. */
static __always_inline int leave(long ret)
{
	__u64 key = bpf_get_current_pid_tgid();
	struct call_entry *in = bpf_map_lookup_elem(&inflight, &key);

	if (!in)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();

	switch (call_kind(in->call)) {
	case KIND_PRIVILEGE_CHANGE:
		emit_creds(task, in, ret);
		break;
	case KIND_PTRACE:
	case KIND_PROCESS_VM_WRITEV:
		emit_target(task, in, ret);
		break;
	case KIND_NAMESPACE_CHANGE:
		emit_ns(task, in, ret);
		break;
	case KIND_MOUNT:
	case KIND_UMOUNT:
	case KIND_CHROOT:
	case KIND_PIVOT_ROOT:
		emit_mount(task, in, ret);
		break;
	case KIND_MODULE_LOAD:
	case KIND_MODULE_UNLOAD:
		emit_module(task, in, ret);
		break;
	case KIND_BPF_LOAD:
		emit_bpf(task, in, ret);
		break;
	default:
		emit_plain(task, in, ret);
	}
	/* deleted last: the entry's memory may be reused once it is */
	bpf_map_delete_elem(&inflight, &key);
	return 0;
}

/* Attached to syscalls/sys_enter_<call> of every watched call. The
 * syscall number is an int; the bytes after it are padding. */
SEC("tracepoint")
int on_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct nr_call *nc = nr_call((int)ctx->id);

	if (!nc)
		return 0;
	/*
	 * Copied, not read field by field: a direct read of args[5] would make
	 * the program's context 64 bytes, and the kernel refuses to attach it
	 * to the tracepoint of a call with fewer arguments (its record is
	 * shorter). The kernel hands programs all six slots; those past the
	 * call's own arguments hold garbage, which enter() drops.
	 */
	__u64 args[6];

	if (bpf_probe_read_kernel(args, sizeof(args), ctx->args))
		return 0;
	return enter(nc, args);
}

/* Attached to syscalls/sys_exit_<call> of every watched call. */
SEC("tracepoint")
int on_exit(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

/*
 * The dispatcher, for calls without a tracepoint; the registers are read
 * by syscall.bpf.h. A 32-bit (ia32) system call has numbers of its own,
 * which the table does not hold.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(dispatch_enter, struct pt_regs *regs, long id)
{
	struct nr_call *nc = nr_call(id);

	if (!nc || !nc->dispatched)
		return 0;
	if (in_compat_syscall())
		return 0;
	__u64 args[6];

	syscall_args(regs, false, args);
	return enter(nc, args);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(dispatch_exit, struct pt_regs *regs, long ret)
{
	struct nr_call *nc = nr_call(syscall_nr(regs));

	if (!nc || !nc->dispatched)
		return 0;
	return leave(ret);
}

/* A module was loaded: its name, for the init_module or finit_module call
 * that loads it, reported at the call's exit. */
SEC("tracepoint/module/module_load")
int on_module_load(struct trace_event_raw_module_load___vigil *ctx)
{
	__u64 key = bpf_get_current_pid_tgid();
	struct call_entry *in = bpf_map_lookup_elem(&inflight, &key);

	if (!in || (in->call != CALL_INIT_MODULE && in->call != CALL_FINIT_MODULE))
		return 0;
	module_load_name(ctx, in->modname, sizeof(in->modname));
	return 0;
}
