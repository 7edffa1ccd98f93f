/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* privilege_change: a task's ids and capabilities, before and after. */
#pragma once

#include "record.bpf.h"

/*
 * read_creds reads the current task's ids and capabilities. task must be
 * bpf_get_current_task_btf()'s: through its typed pointers the reads are
 * plain loads the kernel guards against faults, not a helper call each,
 * which matters on a path every watched call takes twice.
 */
static __always_inline void read_creds(struct task_struct *task, struct priv_creds *c,
				       struct priv_caps *k)
{
	const struct cred *cred = task->cred;

	c->uid = cred->uid.val;
	c->euid = cred->euid.val;
	c->suid = cred->suid.val;
	c->fsuid = cred->fsuid.val;
	c->gid = cred->gid.val;
	c->egid = cred->egid.val;
	c->sgid = cred->sgid.val;
	c->fsgid = cred->fsgid.val;
	if (bpf_core_field_exists(cred->cap_effective.val)) {
		k->effective = cred->cap_effective.val;
		k->permitted = cred->cap_permitted.val;
		k->inheritable = cred->cap_inheritable.val;
		return;
	}
	/* before 6.3, kernel_cap_t was two u32s: the same eight bytes on a
	 * little-endian machine */
	bpf_core_read(&k->effective, sizeof(k->effective), &cred->cap_effective);
	bpf_core_read(&k->permitted, sizeof(k->permitted), &cred->cap_permitted);
	bpf_core_read(&k->inheritable, sizeof(k->inheritable), &cred->cap_inheritable);
}

static __always_inline void emit_creds(struct task_struct *task, struct call_entry *in, long ret)
{
	union record *r = begin(sizeof(struct cred_info), task, in, ret);
	struct blob *b = blob_get();

	if (!r || !b)
		return;
	r->cred.before = in->creds;
	r->cred.caps_before = in->caps;
	read_creds(task, &r->cred.after, &r->cred.caps_after);
	finish(r, sizeof(struct cred_info), b, 0);
}
