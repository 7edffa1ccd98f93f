/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* namespace_change: unshare, setns, and clone/clone3 that create namespaces. */
#pragma once

#include "record.bpf.h"

/* CLONE_NEW* from include/uapi/linux/sched.h */
#define CLONE_NEWTIME 0x00000080
#define CLONE_NEWNS 0x00020000
#define CLONE_NEWCGROUP 0x02000000
#define CLONE_NEWUTS 0x04000000
#define CLONE_NEWIPC 0x08000000
#define CLONE_NEWUSER 0x10000000
#define CLONE_NEWPID 0x20000000
#define CLONE_NEWNET 0x40000000
#define CLONE_NEW_ANY                                                                  \
	(CLONE_NEWTIME | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
	 CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

#define NSFS_MAGIC 0x6e736673

/* Before 6.18 the type lived in the namespace's operations. */
struct proc_ns_operations___old {
	int type;
} __attribute__((preserve_access_index));

struct ns_common___old {
	const struct proc_ns_operations___old *ops;
} __attribute__((preserve_access_index));

static __always_inline __u32 ns_type(struct ns_common *ns)
{
	if (bpf_core_field_exists(ns->ns_type))
		return BPF_CORE_READ(ns, ns_type);
	return BPF_CORE_READ((struct ns_common___old *)ns, ops, type);
}

/*
 * setns_types: which namespaces setns(fd, nstype) enters. A descriptor of
 * /proc/PID/ns names one namespace, whatever nstype says (0 allows any); a
 * pidfd enters the ones nstype lists.
 */
static __always_inline __u32 setns_types(struct task_struct *task, long fd, __u64 nstype)
{
	struct file *f = task_fd_file(task, fd);
	struct inode *inode = BPF_CORE_READ(f, f_inode);

	if (f && BPF_CORE_READ(inode, i_sb, s_magic) == NSFS_MAGIC)
		return ns_type(BPF_CORE_READ(inode, i_private)) & CLONE_NEW_ANY;
	return nstype & CLONE_NEW_ANY;
}

/*
 * ns_flags_at_entry returns the flags of unshare, clone and clone3 (whose
 * flags are in user memory); only calls with a CLONE_NEW* flag among them
 * are reported.
 */
static __always_inline __u64 ns_flags_at_entry(__u32 call, __u64 *args)
{
	__u64 flags = 0;

	switch (call) {
	case CALL_UNSHARE:
	case CALL_CLONE:
		flags = args[0];
		break;
	case CALL_CLONE3:
		/* struct clone_args starts with its u64 flags */
		bpf_probe_read_user(&flags, sizeof(flags), (void *)args[0]);
		break;
	}
	return flags;
}

static __always_inline void emit_ns(struct task_struct *task, struct call_entry *in, long ret)
{
	union record *r = begin(sizeof(struct ns_info), task, in, ret);
	struct blob *b = blob_get();

	if (!r || !b)
		return;
	switch (in->call) {
	case CALL_SETNS:
		r->ns.flags = in->args[1];
		r->ns.types = in->ns_types;
		break;
	case CALL_CLONE3:
		r->ns.flags = in->aux;
		r->ns.types = in->aux & CLONE_NEW_ANY;
		break;
	default:
		r->ns.flags = in->args[0];
		r->ns.types = in->args[0] & CLONE_NEW_ANY;
	}
	finish(r, sizeof(struct ns_info), b, 0);
}
