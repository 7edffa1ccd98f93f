/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What every enforcement object shares: which policies apply to a task, what
 * a deny entry says, who is exempt, and the per-policy hit counters.
 *
 * Enforcement outlives the agent. These maps (and each object's own deny
 * maps) are pinned by name under the agent's pin directory (/sys/fs/bpf/vigil
 * by default), so every enforcement object loaded against that directory
 * shares one instance of each, and an agent restarted after a crash finds
 * them as they were. Programs are reloaded at every start (so that they
 * write into the running agent's ring); only their links stay pinned, to
 * keep enforcement in force while no agent runs.
 *
 * Policies are numbered 0..63. A task is subject to a policy when the policy
 * is host-wide (its bit in the `host` field of enforce_config) or scoped to a cgroup v2 that
 * is the task's own or one of its ancestors (its bit in
 * scope_cgroups[that cgroup's id]). Every deny entry carries a verdict: the
 * policies that block on it and the policies that only report it.
 */
#pragma once

#include "common.bpf.h"
#include "enforce.h"

#define ENFORCE_MAX_POLICIES 64
#define SCOPE_MAX_DEPTH 16 /* cgroup levels searched for scoped policies */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct enforce_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} enforce_config SEC(".maps");

/* cgroup v2 id → policies scoped to that cgroup and its descendants */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} scope_cgroups SEC(".maps");

/* tgids nothing is ever done to: the agent, its ancestors, init */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exempt_tgids SEC(".maps");

/* per-CPU hits, indexed policy * ENFORCE_ACTION_COUNT + action; they keep
 * counting while no agent runs, so nothing done meanwhile goes unreported */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, (ENFORCE_MAX_POLICIES * ENFORCE_ACTION_COUNT));
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} enforce_hits SEC(".maps");

static __always_inline struct enforce_state *enforce_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&enforce_config, &zero);
}

static __always_inline bool exempt(__u32 tgid)
{
	if (tgid <= 1 || (agent_tgid && tgid == agent_tgid))
		return true;
	return bpf_map_lookup_elem(&exempt_tgids, &tgid) != NULL;
}

/* lowest_bit: the index of the lowest set bit of a non-zero mask. clang's BPF
 * backend has no count-trailing-zeros instruction, so it is a binary search. */
static __always_inline __u32 lowest_bit(__u64 m)
{
	__u32 n = 0;

	if (!(m & 0xffffffffULL)) {
		n += 32;
		m >>= 32;
	}
	if (!(m & 0xffffULL)) {
		n += 16;
		m >>= 16;
	}
	if (!(m & 0xffULL)) {
		n += 8;
		m >>= 8;
	}
	if (!(m & 0xfULL)) {
		n += 4;
		m >>= 4;
	}
	if (!(m & 0x3ULL)) {
		n += 2;
		m >>= 2;
	}
	if (!(m & 0x1ULL)) {
		n += 1;
	}
	return n;
}

static __always_inline __u64 scoped_policies(__u64 cgroup_id)
{
	__u64 *m = bpf_map_lookup_elem(&scope_cgroups, &cgroup_id);

	return m ? *m : 0;
}

/*
 * task_policies: the policies a task is subject to. The cgroup ancestors are
 * read from the task (tracing programs), as traced() does in common.h.
 */
static __always_inline __u64 task_policies(struct task_struct *task, struct enforce_state *cfg)
{
	__u64 mask = cfg->host;

	if (!cfg->scoped)
		return mask;

	struct cgroup *cgrp = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	int level = BPF_CORE_READ(cgrp, level);
	void *anc_base = (void *)cgrp + bpf_core_field_offset(struct cgroup, ancestors);

	/* the root (level 0) holds no scope: host-wide policies say so */
	for (int i = 1; i <= SCOPE_MAX_DEPTH; i++) {
		struct cgroup *anc = NULL;

		if (i > level)
			break;
		bpf_probe_read_kernel(&anc, sizeof(anc), anc_base + (__u64)i * sizeof(anc));
		if (anc)
			mask |= scoped_policies(BPF_CORE_READ(anc, kn, id));
	}
	return mask;
}

/*
 * current_policies: the same for programs that run in the caller's context
 * without task access (cgroup sock_addr hooks): the ancestors come from
 * bpf_get_current_ancestor_cgroup_id, which answers 0 past the task's level.
 */
static __always_inline __u64 current_policies(struct enforce_state *cfg)
{
	__u64 mask = cfg->host;

	if (!cfg->scoped)
		return mask;
	for (int i = 1; i <= SCOPE_MAX_DEPTH; i++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(i);

		if (!id)
			break;
		mask |= scoped_policies(id);
	}
	return mask;
}

static __always_inline void count_hit(__u32 policy, __u32 action)
{
	__u32 key = policy * ENFORCE_ACTION_COUNT + action;
	__u64 *n;

	if (policy >= ENFORCE_MAX_POLICIES || action >= ENFORCE_ACTION_COUNT)
		return;
	n = bpf_map_lookup_elem(&enforce_hits, &key);
	if (n)
		*n += 1; /* per-CPU slot: no atomic needed */
}

/*
 * decide applies a verdict to the policies that govern the caller: an
 * enforcing policy wins over a monitoring one. block is ENFORCE_KILLED or
 * ENFORCE_DENIED, what the mechanism does; the monitor action follows from
 * it. Returns false (and leaves hit alone) when no policy applies. The hit is
 * counted here, so a record that cannot be reserved still leaves a trace.
 */
static __always_inline bool decide(const struct verdict *v, __u64 mine, __u16 block,
				   struct enforce_hit *hit)
{
	__u64 e = v->enforce & mine;
	__u64 m = v->monitor & mine;

	if (e) {
		hit->policy = lowest_bit(e);
		hit->action = block;
	} else if (m) {
		hit->policy = lowest_bit(m);
		hit->action = block == ENFORCE_KILLED ? ENFORCE_WOULD_KILL : ENFORCE_WOULD_DENY;
	} else {
		return false;
	}
	hit->pad = 0;
	count_hit(hit->policy, hit->action);
	return true;
}
