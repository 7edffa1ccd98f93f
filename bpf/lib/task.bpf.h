/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What a record says about a task: ids, namespaces, cgroup path, tty. */
#pragma once

#include "blob.bpf.h"

#define CGROUP_MAX_DEPTH 32

/* The v1 controller whose hierarchy names containers on a cgroup v1 or hybrid
 * host (their v2 cgroup is the root there); -1 on a pure cgroup v2 host. */
const volatile __s32 cgroup_v1_subsys = -1;

struct task_ids {
	__u32 uid, euid, gid, egid;
	__u32 auid; /* loginuid; (u32)-1 when unset or without CONFIG_AUDIT */
};

static __always_inline void read_task_ids(struct task_struct *task, struct task_ids *ids)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);

	ids->uid = BPF_CORE_READ(cred, uid.val);
	ids->euid = BPF_CORE_READ(cred, euid.val);
	ids->gid = BPF_CORE_READ(cred, gid.val);
	ids->egid = BPF_CORE_READ(cred, egid.val);
	ids->auid = (__u32)-1;
	if (bpf_core_field_exists(task->loginuid))
		ids->auid = BPF_CORE_READ(task, loginuid.val);
}

struct task_ns {
	__u32 pid, mnt, net;
	__u32 vpid; /* the task's pid as its own pid namespace numbers it */
};

static __always_inline void read_task_ns(struct task_struct *task, struct task_ns *ns)
{
	struct pid *tp = BPF_CORE_READ(task, thread_pid);
	__u32 level = BPF_CORE_READ(tp, level);
	struct pid_namespace *pidns = NULL;
	/* numbers[] is indexed at run time: the task's own pid namespace,
	 * and its number there, are the ones at its pid's level */
	void *upid = (void *)tp + bpf_core_field_offset(struct pid, numbers) +
		     (__u64)level * bpf_core_type_size(struct upid);
	int vpid = 0;

	bpf_probe_read_kernel(&pidns, sizeof(pidns), upid + bpf_core_field_offset(struct upid, ns));
	bpf_probe_read_kernel(&vpid, sizeof(vpid), upid + bpf_core_field_offset(struct upid, nr));
	ns->vpid = vpid;
	ns->pid = BPF_CORE_READ(pidns, ns.inum);
	ns->mnt = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	ns->net = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
}

static __always_inline struct kernfs_node *kernfs_parent(struct kernfs_node *kn)
{
	/* renamed to __parent in 6.15 when it became RCU-protected */
	struct kernfs_node___old {
		struct kernfs_node *parent;
	} *old = (void *)kn;

	if (bpf_core_field_exists(old->parent))
		return BPF_CORE_READ(old, parent);
	return BPF_CORE_READ(kn, __parent);
}

struct cgroup_walk {
	struct kernfs_node *kn;
	__u32 used;
	__u16 depth;
	bool done;
	bool cut;
};

/* One step up the cgroup tree; names go leaf first like path components. */
static long cgroup_walk_step(__u32 i, void *arg)
{
	struct cgroup_walk *w = arg;
	/* copied out first: BPF_CORE_READ(w->kn, …) would relocate w's own
	 * type, which the kernel does not know */
	struct kernfs_node *kn = w->kn;
	struct kernfs_node *up = kernfs_parent(kn);

	if (!up) { /* the hierarchy's root has no name of its own */
		w->done = true;
		return 1;
	}

	struct blob *b = blob_get();
	struct str_ref name;

	if (!b)
		return 1;
	if (!blob_kstr(b, &w->used, &name, BPF_CORE_READ(kn, name), NAME_MAX_LEN)) {
		w->cut = true;
		return 1;
	}
	w->depth++;
	w->kn = up;
	return 0;
}

static __always_inline bool walk_cgroup(struct cgroup_walk *w)
{
	bpf_loop(CGROUP_MAX_DEPTH, cgroup_walk_step, w, 0);
	return w->done && !w->cut;
}

/*
 * blob_cgroup_path appends the task's cgroup path: its v2 path, or, when that
 * is the root and the host names containers in a v1 hierarchy, the path in
 * that hierarchy. Returns false when the path was cut.
 */
static __always_inline bool blob_cgroup_path(__u32 *used, struct str_ref *ref,
					     struct task_struct *task)
{
	struct cgroup_walk w = {
		.kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn),
		.used = *used,
	};

	ref->off = *used;
	bool whole = walk_cgroup(&w);

	if (w.depth == 0 && cgroup_v1_subsys >= 0) {
		struct css_set *cset = BPF_CORE_READ(task, cgroups);
		struct cgroup_subsys_state *css = NULL;

		bpf_probe_read_kernel(&css, sizeof(css),
				      (void *)cset + bpf_core_field_offset(struct css_set, subsys) +
					      (__u64)cgroup_v1_subsys * sizeof(css));
		if (css) {
			w.kn = BPF_CORE_READ(css, cgroup, kn);
			w.done = false;
			whole = walk_cgroup(&w);
		}
	}
	ref->len = w.used - *used;
	*used = w.used;
	return whole;
}

/* blob_tty appends the name of the task's controlling terminal, if any. */
static __always_inline void blob_tty(struct blob *b, __u32 *used, struct str_ref *ref,
				     struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);

	ref->off = *used;
	ref->len = 0;
	if (tty)
		blob_kstr(b, used, ref,
			  (const char *)tty + bpf_core_field_offset(struct tty_struct, name),
			  sizeof(tty->name));
}

/*
 * read_task_caps reads the capability sets of the task's credentials into
 * sets[4], bit n for capability n: effective, permitted, inheritable,
 * bounding. task must be a BTF pointer (a tp_btf argument):
 * on 6.3 and later the reads are plain loads the kernel guards against
 * faults, not a helper call each.
 */
static __always_inline void read_task_caps(struct task_struct *task, __u64 *sets)
{
	const struct cred *cred = task->cred;

	if (bpf_core_field_exists(cred->cap_effective.val)) {
		sets[0] = cred->cap_effective.val;
		sets[1] = cred->cap_permitted.val;
		sets[2] = cred->cap_inheritable.val;
		sets[3] = cred->cap_bset.val;
		return;
	}
	/* before 6.3 kernel_cap_t was two __u32 words: the same eight bytes
	 * on a little-endian machine */
	bpf_core_read(&sets[0], sizeof(*sets), &cred->cap_effective);
	bpf_core_read(&sets[1], sizeof(*sets), &cred->cap_permitted);
	bpf_core_read(&sets[2], sizeof(*sets), &cred->cap_inheritable);
	bpf_core_read(&sets[3], sizeof(*sets), &cred->cap_bset);
}
