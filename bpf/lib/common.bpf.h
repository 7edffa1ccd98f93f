/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What every vigil sensor shares in the kernel: the ring buffer all sensors
 * write into, the per-CPU loss counters, and the knobs the loader sets
 * before load. The record header and kinds are in common.h.
 *
 * Every object that includes this file declares the same `events`, `drops`
 * and `reader_asleep` maps; the loader replaces them with one shared
 * instance, so records of all sensors arrive in one stream, in the order
 * they were reserved.
 */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "common.h"

/* Set by the loader before load (read-only data). */
const volatile __u32 agent_tgid = 0;	     /* vigil itself: never reported */
const volatile __u64 wakeup_bytes = 1 << 20; /* wake the reader past this fill */
const volatile __u64 filter_cgroup_id = 0;   /* 0: all cgroups; else this subtree */
const volatile __s32 filter_cgroup_level = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* the loader sets the real size */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, (DROP_REASON_COUNT * KIND_COUNT));
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(enum drop_reason reason, enum record_kind kind)
{
	__u32 key = reason * KIND_COUNT + kind;
	__u64 *n = bpf_map_lookup_elem(&drops, &key);

	if (n)
		*n += 1; /* per-CPU slot: no atomic needed */
}

/*
 * Set to 1 by the reader when it found the ring empty after a quiet
 * interval and went to sleep with no short timer (internal/ring); the first
 * record after that wakes it and clears the flag. Shared like events.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} reader_asleep SEC(".maps");

/*
 * Batched wake-ups: a reader that is awake drains on its own short timer,
 * so below wakeup_bytes a record does not wake it (waking it for every
 * record costs the traced process several microseconds). A sleeping reader
 * has no timer: the first record wakes it, once.
 */
static __always_inline __u64 submit_flags(__u32 size)
{
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;

	__u32 zero = 0;
	__u32 *asleep = bpf_map_lookup_elem(&reader_asleep, &zero);

	/* the plain read first: the exchange is only paid once per sleep */
	if (asleep && *asleep && __sync_lock_test_and_set(asleep, 0))
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline __u64 task_cgroup_id(struct task_struct *task)
{
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

/*
 * traced reports whether events of this task may be emitted: vigil's own
 * activity never is, and with a cgroup filter only tasks in that cgroup v2
 * subtree are. The subtree test reads the ancestor at the filter's level,
 * as cgroup_is_descendant() does, so it works for any task, not just current.
 */
static __always_inline bool traced(struct task_struct *task)
{
	if (agent_tgid && BPF_CORE_READ(task, tgid) == agent_tgid)
		return false;
	if (!filter_cgroup_id)
		return true;

	struct cgroup *cgrp = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	int level = BPF_CORE_READ(cgrp, level);
	int want = filter_cgroup_level;

	if (want < 0 || level < want)
		return false;

	/* ancestors[] is indexed at run time, so the read is done by hand. */
	struct cgroup *anc = NULL;
	void *slot = (void *)cgrp + bpf_core_field_offset(struct cgroup, ancestors) +
		     (__u64)want * sizeof(anc);

	bpf_probe_read_kernel(&anc, sizeof(anc), slot);
	return anc && BPF_CORE_READ(anc, kn, id) == filter_cgroup_id;
}

static __always_inline void fill_header(struct record_header *h, enum record_kind kind, __u32 size,
					struct task_struct *task)
{
	h->kind = kind;
	h->flags = 0;
	h->size = size;
	h->ktime = bpf_ktime_get_boot_ns();
	h->pid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(task, pid);
	h->cgroup_id = task_cgroup_id(task);
}

/*
 * Fixed-size records are reserved in the ring, filled in place by the caller,
 * then submitted: no copy. A failed reservation is counted, never silent.
 */
static __always_inline void *reserve_fixed(__u32 size, enum record_kind kind)
{
	void *rec = bpf_ringbuf_reserve(&events, size, 0);

	if (!rec)
		count_drop(DROP_RINGBUF_FULL, kind);
	return rec;
}

static __always_inline void submit_fixed(void *rec, __u32 size)
{
	bpf_ringbuf_submit(rec, submit_flags(size));
}
