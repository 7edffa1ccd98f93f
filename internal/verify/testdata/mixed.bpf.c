// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One object, four programs, three outcomes on the project's kernel: good
 * passes, out_of_bounds reads past its map value and the verifier rejects
 * it, and the fentry and LSM programs are a kind of program this kernel
 * refuses to load at all (EPERM, empty verifier log).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int good(void *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&values, &zero);

	if (v)
		*v += 1;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int out_of_bounds(void *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&values, &zero);

	/* the value holds one __u64: v[1] is past its end */
	if (v)
		return v[1];
	return 0;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(on_unlink, int dfd)
{
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(on_open, struct file *file)
{
	return 0;
}
