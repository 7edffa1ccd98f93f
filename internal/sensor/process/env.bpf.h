/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Watched environment variables at exec. The new image's environment is
 * the NUL-separated strings between mm->env_start and env_end, written by
 * the kernel into the new stack just before sched_process_exec, so the
 * pages are present. Each variable's name (the bytes before '=') is looked
 * up in env_names; only the variables found there are copied into the
 * blob, bounded by env_max_vars and env_max_bytes. Nothing else leaves the
 * kernel.
 */
#pragma once

#include "blob.bpf.h"
#include "process.h"

/* Set by the loader: at most this many variables and bytes (NULs
 * included) are reported; 0 variables switches the scan off. */
const volatile __u32 env_max_vars = 0;
const volatile __u32 env_max_bytes = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ENV_NAMES_MAX);
	__type(key, struct env_name);
	__type(value, __u8);
} env_names SEC(".maps");

struct env_chunk {
	char buf[ENV_CHUNK];
};

/* One variable at a time is read here, too large for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct env_chunk);
} env_chunks SEC(".maps");

/* The walk's state, a bpf_loop callback's argument: scalars only, since
 * the verifier keeps no pointer types there; the maps are looked up again
 * in the callback. */
struct env_walk {
	__u64 p, end;  /* user addresses: the next string, the end of all */
	__u32 used;    /* blob bytes used */
	__u32 bytes;   /* of them, by reported variables */
	__u32 vars;    /* variables reported */
	__u32 flags;   /* enum exec_flag bits */
	__u32 in_long; /* p is inside a variable longer than a chunk */
};

/* env_name_of copies the name before '=' into key; false when the string
 * is no NAME=value or its name is too long to be watched. */
static __always_inline bool env_name_of(const struct env_chunk *c, struct env_name *key)
{
	int i;

	/* a bounded loop the verifier unrolls: names are short */
	for (i = 0; i < ENV_NAME_LEN; i++) {
		char ch = c->buf[i];

		if (ch == '=')
			return i > 0;
		if (ch == 0)
			return false;
		key->name[i] = ch;
	}
	return false; /* no room left for the NUL: longer than any watched name */
}

/* env_report copies the variable of n bytes (NUL included) in c into the
 * blob, within the bounds. */
static __always_inline void env_report(struct env_walk *w, const struct env_chunk *c, long n)
{
	struct blob *b = blob_get();

	if (!b)
		return;
	if (w->vars >= env_max_vars || w->bytes >= env_max_bytes) {
		w->flags |= EXEC_ENV_CUT;
		return;
	}
	__u32 len = n;
	__u32 room = blob_room(w->used, env_max_bytes - w->bytes);

	if (len > room) {
		len = room;
		w->flags |= EXEC_ENV_CUT;
	}
	if (len < 2)
		return;
	/* used < BLOB_USED_MAX and len <= ENV_BYTES_MAX: the masks change
	 * nothing, they show the verifier the copy ends inside the blob */
	__u32 off = w->used & BLOB_OFF_MASK;

	len &= ENV_BYTES_MAX * 2 - 1;
	if (bpf_probe_read_kernel(&b->data[off], len, c->buf))
		return;
	/* a cut variable still ends with its NUL */
	b->data[(off + len - 1) & (BLOB_SIZE - 1)] = 0;
	w->used += len;
	w->bytes += len;
	w->vars++;
}

static long env_step(__u64 index, void *ctx)
{
	struct env_walk *w = ctx;
	__u32 zero = 0;
	struct env_chunk *c = bpf_map_lookup_elem(&env_chunks, &zero);

	if (!c || w->p >= w->end)
		return 1;
	long n = bpf_probe_read_user_str(c->buf, sizeof(c->buf), (const void *)w->p);
	if (n <= 0) {
		w->flags |= EXEC_ENV_UNSCANNED;
		return 1;
	}
	__u32 rest = w->in_long;

	/* a full chunk: the variable may go on; its next chunk starts on the
	 * NUL the read put in place of the last byte */
	w->in_long = n == sizeof(c->buf);
	w->p += w->in_long ? n - 1 : n;
	if (rest)
		return 0;

	struct env_name key = {};

	if (env_name_of(c, &key) && bpf_map_lookup_elem(&env_names, &key)) {
		env_report(w, c, n);
		if (w->in_long)
			w->flags |= EXEC_ENV_CUT;
	}
	return 0;
}

/* read_env appends the watched variables of task's new image to the blob
 * and sets e->env; it returns the exec flags it adds. */
static __always_inline __u32 read_env(__u32 *used, struct exec_info *e, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	struct env_walk w = {
		.p = BPF_CORE_READ(mm, env_start),
		.end = BPF_CORE_READ(mm, env_end),
		.used = *used,
	};

	e->env.off = *used;
	e->env.len = 0;
	if (!env_max_vars)
		return 0;
	bpf_loop(ENV_SCAN_STEPS, env_step, &w, 0);
	if (w.p < w.end)
		w.flags |= EXEC_ENV_UNSCANNED;
	e->env.len = w.used - *used;
	*used = w.used;
	return w.flags;
}
