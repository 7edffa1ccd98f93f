// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A libbpf-tools style object that vigil verify must load whole: maps of
 * many types (hash, LRU, per-CPU, LPM trie, ring buffer, perf event array,
 * a prog array with a static tail-call entry, an array of maps), global
 * data in .data, .bss and .rodata, and programs of many types. Every
 * program here passes the verifier of the project's kernel.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_tgid = 0; /* .rodata: set before load */
__u64 seen = 0;			      /* .bss */
__u64 limit = 100;		      /* .data */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} recent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} scratch SEC(".maps");

struct prefix {
	__u32 len;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct prefix);
	__type(value, __u8);
} nets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} inner0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner0 },
};

SEC("tracepoint/syscalls/sys_enter_getppid")
int tail_target(void *ctx)
{
	__sync_fetch_and_add(&seen, 1);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, int(void *));
} jumps SEC(".maps") = {
	.values = { [0] = (void *)&tail_target },
};

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_openat(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *n;

	if (target_tgid && tgid != target_tgid)
		return 0;
	n = bpf_map_lookup_elem(&counts, &tgid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&counts, &tgid, &one, BPF_ANY);
	bpf_map_update_elem(&recent, &tgid, &one, BPF_ANY);
	bpf_tail_call(ctx, &jumps, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 pid = p->tgid;
	__u32 *rec = bpf_ringbuf_reserve(&ring, sizeof(*rec), 0);

	if (!rec)
		return 0;
	*rec = pid;
	bpf_ringbuf_submit(rec, 0);
	return 0;
}

SEC("raw_tp/sys_enter")
int raw_enter(void *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&scratch, &zero);
	void *in = bpf_map_lookup_elem(&outer, &zero);

	if (v && seen < limit)
		*v += 1;
	if (in)
		bpf_map_lookup_elem(in, &zero);
	return 0;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct prefix key = { .len = 32 };

	if (data + sizeof(struct ethhdr) + sizeof(struct iphdr) > end)
		return XDP_PASS;
	key.addr = ((struct iphdr *)(data + sizeof(struct ethhdr)))->saddr;
	if (bpf_map_lookup_elem(&nets, &key))
		return XDP_DROP;
	return XDP_PASS;
}

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	__u32 len = skb->len;

	bpf_perf_event_output(skb, &perf, BPF_F_CURRENT_CPU, &len, sizeof(len));
	return 0; /* TC_ACT_OK */
}

SEC("cgroup_skb/egress")
int egress(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	return ctx->user_port == 0 ? 0 : 1;
}

SEC("socket")
int sock_all(struct __sk_buff *skb)
{
	return skb->len;
}
