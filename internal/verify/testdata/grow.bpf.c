// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The same program built twice: with ROUNDS 2 (grow_small.bpf.o) and 64
 * (grow_big.bpf.o). The loop is unrolled, so the big build makes the
 * verifier process many more instructions: what a baseline must catch.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} acc SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int spin(void *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&acc, &zero);
	__u64 x = bpf_get_prandom_u32();

	if (!v)
		return 0;
#pragma unroll
	for (int i = 0; i < ROUNDS; i++) {
		if (x & (1ULL << i))
			*v += i;
	}
	return 0;
}
