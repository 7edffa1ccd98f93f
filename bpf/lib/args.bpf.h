/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reading what a system call was given: strings in user memory, into the
 * blob, and the files behind descriptors, from the task's own fd table.
 */
#pragma once

#include "blob.bpf.h"
#include "kfuncs.bpf.h"

/* blob_ustr's outcome */
enum ustr_result {
	USTR_OK = 0,
	USTR_CUT = 1,	/* longer than max or than the room left: cut, still NUL-terminated */
	USTR_FAULT = 2, /* unreadable user memory: left absent */
};

/*
 * blob_ustr appends a NUL-terminated user string of at most max bytes
 * (max < BLOB_USED_MAX). A NULL pointer is left absent and is no fault.
 */
static __always_inline enum ustr_result blob_ustr(struct blob *b, __u32 *used, struct str_ref *ref,
						  const char *src, __u32 max)
{
	__u32 room = blob_room(*used, max);

	ref->off = *used;
	ref->len = 0;
	if (!src)
		return USTR_OK;
	if (room < 2)
		return USTR_CUT;
	/* used < BLOB_USED_MAX and room < BLOB_USED_MAX here: the masks change
	 * nothing but show the verifier that the write ends inside the blob */
	long n =
		bpf_probe_read_user_str(&b->data[*used & BLOB_OFF_MASK], room & BLOB_OFF_MASK, src);
	if (n < 0)
		return USTR_FAULT;
	ref->len = n;
	*used += n;
	return n < room ? USTR_OK : USTR_CUT;
}

/* blob_first_byte is the first byte of a string in the blob, 0 when absent. */
static __always_inline char blob_first_byte(struct blob *b, struct str_ref *ref)
{
	if (!ref->len)
		return 0;
	return b->data[ref->off & BLOB_OFF_MASK];
}

/*
 * task_fd_file returns the file open as fd in task's table, or NULL, read
 * with helpers: it needs no kfunc (the privilege sensor runs without
 * them), and the pointer is untyped (read through it with BPF_CORE_READ).
 * The pointer is read without taking a reference: use it for reads only,
 * as another thread may close the descriptor at any time.
 */
static __always_inline struct file *task_fd_file(struct task_struct *task, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	struct file *f = NULL;

	if (fd < 0 || fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/*
 * fd_file is the same file as a typed pointer (bpf_rdonly_cast), whose
 * fields are read with plain loads instead of a helper call each; the task
 * must be a typed pointer too (bpf_get_current_task_btf). No reference is
 * taken: read it only, in a syscall of the same task (the descriptor may be
 * closed by another thread meanwhile; the loads then read what is there or
 * fault to 0).
 */
static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file *f;

	if (fd < 0 || fd >= fdt->max_fds)
		return NULL;
	f = fdt->fd[fd];
	if (!f)
		return NULL;
	return bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
}
