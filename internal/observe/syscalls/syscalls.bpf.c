//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The syscall recorder: one bit per (calling convention, call number) for
 * every recorded cgroup v2 subtree, set on the raw sys_enter tracepoint.
 * No record per call crosses the ring buffer: a call sets a bit that is
 * already set, or sets it once, so a storm of calls cannot make the
 * recorder lose one. What it cannot keep (a number past the bitmap) is
 * counted.
 *
 * Every task of the host pays the program on every call (tp_btf: the
 * cheapest hook on sys_enter here); a task outside the recorded subtrees
 * leaves after one array lookup, and one ancestor id and one hash lookup
 * per level at which a recorded cgroup sits (usually one).
 */
#include "common.bpf.h"
#include "syscall.bpf.h"
#include "syscalls.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sc_config);
} settings SEC(".maps");

/* recorded cgroup id → its slot in bitmaps */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SC_SLOTS);
	__type(key, __u64);
	__type(value, __u32);
} recorded SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SC_SLOTS);
	__type(key, __u32);
	__type(value, struct sc_bitmap);
} bitmaps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SC_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(enum sc_counter c)
{
	__u32 key = c;
	__u64 *n = bpf_map_lookup_elem(&counters, &key);

	if (n)
		*n += 1; /* per-CPU slot: no atomic needed */
}

/* recorded_slot finds the slot of the recorded cgroup the current task's
 * cgroup lies in (itself or an ancestor), trying only the levels at which
 * recorded cgroups sit; the shallowest match wins. */
static __always_inline __u32 *recorded_slot(__u64 levels)
{
	for (int level = 0; level < SC_LEVELS; level++) {
		if (!(levels & (1ULL << level)))
			continue;
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);

		if (!id)
			return NULL; /* the task's cgroup is shallower than level */
		__u32 *slot = bpf_map_lookup_elem(&recorded, &id);

		if (slot)
			return slot;
	}
	return NULL;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(record_sys_enter, struct pt_regs *regs, long id)
{
	__u32 zero = 0;
	struct sc_config *cfg = bpf_map_lookup_elem(&settings, &zero);

	if (!cfg || !cfg->levels)
		return 0;
	__u32 *slot = recorded_slot(cfg->levels);

	if (!slot)
		return 0;
	/* vigil itself, when it runs inside a recorded cgroup */
	if (agent_tgid && bpf_get_current_pid_tgid() >> 32 == agent_tgid)
		return 0;
	count(SC_CALLS);

	struct sc_bitmap *bm = bpf_map_lookup_elem(&bitmaps, slot);

	if (!bm) {
		count(SC_NO_BITMAP);
		return 0;
	}
	if (id < 0) {
		count(SC_NEGATIVE);
		return 0;
	}

	__u32 arch = SC_ARCH_NATIVE;
	__u64 nr = id;

	if (in_compat_syscall()) {
		arch = SC_ARCH_IA32;
	} else if (bpf_core_field_exists(regs->orig_ax) && (nr & SC_X32_BIT)) {
		arch = SC_ARCH_X32;
		nr &= ~SC_X32_BIT;
	}
	if (nr >= SC_NR_MAX) {
		count(SC_OUT_OF_RANGE);
		return 0;
	}

	__u64 bit = 1ULL << (nr & 63);
	/* arch < SC_ARCH_COUNT and nr < SC_NR_MAX: both indexes are in bounds */
	__u64 *word = &bm->words[arch][nr >> 6];

	/* read first: once the bit is set, the cache line stays shared */
	if (!(*word & bit))
		__sync_fetch_and_or(word, bit);
	return 0;
}
