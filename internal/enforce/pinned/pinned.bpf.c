//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * No programs: this object carries the maps every enforcement object shares
 * (bpf/lib/enforce.h), so that the Go side creates and pins them before any
 * enforcement object loads, and the wire types bpf2go generates for Go.
 */
#include "enforce.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct enforce_wire_types {
	struct verdict verdict;
	struct enforce_hit hit;
	struct enforce_state state;
	enum enforce_action action;
};

/* Never created: it anchors the wire types in BTF for bpf2go. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct enforce_wire_types);
} enforce_wire_types SEC(".maps");

/*
 * Which policy each number stands for, so that the pinned state says what
 * it enforces: a restarted agent adopts the numbers, and `vigil policy list`
 * can read them while no agent runs. Written by user space only.
 */
struct policy_slot {
	char name[56];
	__u8 mode; /* 0: free, 1: monitor, 2: enforce */
	__u8 pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ENFORCE_MAX_POLICIES);
	__type(key, __u32);
	__type(value, struct policy_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_slots SEC(".maps");

/*
 * The hit counts (summed over CPUs) as the last agent read them, indexed as
 * enforce_hits: what the kernel counted beyond them was done while no agent
 * ran, and the next agent reports it. Written by user space only.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, (ENFORCE_MAX_POLICIES * ENFORCE_ACTION_COUNT));
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} enforce_seen SEC(".maps");
