/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Kernel-side helpers of the performance observers: log2 slots, the
 * per-cgroup statistics table's get-or-create, and the loss counters.
 * Every observer keeps its statistics in a per-CPU hash keyed by cgroup v2
 * id (no atomics on the hot path; Go sums the CPUs when it reads) and
 * counts what it could not keep in its `obs_losses` array.
 */
#pragma once

#include "observe.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OBS_LOSS_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} obs_losses SEC(".maps");

static __always_inline void obs_lose(enum obs_loss why)
{
	__u32 key = why;
	__u64 *n = bpf_map_lookup_elem(&obs_losses, &key);

	if (n)
		*n += 1; /* per-CPU slot: no atomic needed */
}

/* obs_slot is floor(log2(v)), 0 for 0 and 1, capped at the last slot. */
static __always_inline __u32 obs_slot(__u64 v)
{
	__u32 r = 0;

	if (v >= (1ULL << 32)) {
		v >>= 32;
		r += 32;
	}
	if (v >= (1 << 16)) {
		v >>= 16;
		r += 16;
	}
	if (v >= (1 << 8)) {
		v >>= 8;
		r += 8;
	}
	if (v >= (1 << 4)) {
		v >>= 4;
		r += 4;
	}
	if (v >= (1 << 2)) {
		v >>= 2;
		r += 2;
	}
	if (v >= (1 << 1))
		r += 1;
	return r < OBS_SLOTS ? r : OBS_SLOTS - 1;
}

/* obs_observe counts a latency of ns nanoseconds into h (per-CPU value). */
static __always_inline void obs_observe(struct obs_hist *h, __u64 ns)
{
	__u64 us = ns / 1000;
	/* the mask only tells the verifier the index is in bounds */
	__u32 i = obs_slot(us) & (OBS_SLOTS - 1);

	h->slots[i] += 1;
	h->sum_ns += ns;
}

/*
 * obs_stats returns the per-CPU statistics of cgroup id in map, creating
 * zeroed ones on first sight; NULL (counted) when the table is full.
 */
static __always_inline void *obs_stats(void *map, __u64 id, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, &id);

	if (v)
		return v;
	/* EEXIST (another CPU created it meanwhile) is fine; E2BIG is a
	 * full table, which the second lookup finds */
	bpf_map_update_elem(map, &id, zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, &id);
	if (!v)
		obs_lose(OBS_LOSS_STATS_FULL);
	return v;
}

/*
 * The cgroup v2 id a socket was charged to when it was created: in softirq
 * context current is whoever the packet interrupted, not the owner. 0 for
 * the mini sockets of TIME_WAIT and SYN_RECV, which have no sk_cgrp_data.
 * sk must be a typed pointer (a tp_btf argument): the fields are read
 * with plain loads, which the verifier guards (a fault reads 0), not with
 * one bpf_probe_read_kernel call each.
 */
static __always_inline __u64 sock_cgroup_id(const struct sock *sk)
{
	int state = sk->__sk_common.skc_state;

	if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV)
		return 0;
	return sk->sk_cgrp_data.cgroup->kn->id;
}
