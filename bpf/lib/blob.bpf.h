/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Variable-length data (paths, argv, names) is gathered in a per-CPU blob
 * next to a record's fixed part, then both are copied into one ring buffer
 * reservation of the exact size used. Strings are referenced from the fixed
 * part as (offset, length) pairs into the blob.
 */
#pragma once

#include "common.bpf.h"
#include "blob.h"

/* Data beyond BLOB_USED_MAX is cut and flagged. The blob is twice as large so
 * that a write of up to BLOB_USED_MAX bytes at any masked offset stays inside
 * the map value, which is what the verifier checks. */
#define BLOB_USED_MAX 8192
#define BLOB_OFF_MASK (BLOB_USED_MAX - 1)
#define BLOB_SIZE (2 * BLOB_USED_MAX)
#define NAME_MAX_LEN 256 /* one path component, with its NUL */

struct blob {
	__u8 data[BLOB_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct blob);
} blobs SEC(".maps");

static __always_inline struct blob *blob_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&blobs, &zero);
}

/* blob_room is how many bytes may still be written at *used, at most max. */
static __always_inline __u32 blob_room(__u32 used, __u32 max)
{
	if (used >= BLOB_USED_MAX)
		return 0;
	__u32 room = BLOB_USED_MAX - used;
	return room < max ? room : max;
}

/*
 * blob_kstr appends a NUL-terminated kernel string of at most max bytes
 * (max < BLOB_USED_MAX). It returns false when the string was cut; the cut
 * string is still NUL-terminated. An unreadable string is left absent.
 */
static __always_inline bool blob_kstr(struct blob *b, __u32 *used, struct str_ref *ref,
				      const char *src, __u32 max)
{
	__u32 room = blob_room(*used, max);

	ref->off = *used;
	ref->len = 0;
	if (!src)
		return true;
	if (room < 2)
		return false;
	/* used < BLOB_USED_MAX here, so the masks change nothing; they show
	 * the verifier that the write ends inside the blob */
	long n = bpf_probe_read_kernel_str(&b->data[*used & BLOB_OFF_MASK], room & BLOB_OFF_MASK,
					   src);
	if (n <= 0)
		return true;
	ref->len = n;
	*used += n;
	return n < room; /* a full buffer means the string may have gone on */
}

/* blob_user appends len raw bytes of user memory (argv is NUL-separated);
 * len < BLOB_USED_MAX. It returns the bytes written, or -1 on a fault. */
static __always_inline long blob_user(struct blob *b, __u32 *used, struct str_ref *ref,
				      const void *src, __u32 len)
{
	__u32 room = blob_room(*used, len);

	ref->off = *used;
	ref->len = 0;
	if (!room)
		return 0;
	room &= BLOB_OFF_MASK; /* a no-op for the verifier's sake, as above */
	if (bpf_probe_read_user(&b->data[*used & BLOB_OFF_MASK], room, src))
		return -1;
	ref->len = room;
	*used += room;
	return room;
}

/*
 * emit_with_blob copies the fixed part and the used part of the blob into one
 * ring buffer reservation, sized exactly, and submits it.
 */
static __always_inline void emit_with_blob(void *fixed, __u32 fixed_size, struct blob *b,
					   __u32 used, enum record_kind kind)
{
	struct bpf_dynptr ptr;

	if (used > BLOB_USED_MAX)
		used = BLOB_USED_MAX;
	__u32 total = fixed_size + used;

	((struct record_header *)fixed)->size = total;
	if (bpf_ringbuf_reserve_dynptr(&events, total, 0, &ptr)) {
		bpf_ringbuf_discard_dynptr(&ptr, 0);
		count_drop(DROP_RINGBUF_FULL, kind);
		return;
	}
	bpf_dynptr_write(&ptr, 0, fixed, fixed_size, 0);
	bpf_dynptr_write(&ptr, fixed_size, b->data, used, 0);
	bpf_ringbuf_submit_dynptr(&ptr, submit_flags(total));
}
