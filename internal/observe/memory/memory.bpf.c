//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The memory observer: OOM kills per cgroup v2, each also reported as a
 * KIND_OOM_KILL record. mark_victim fires once per victim, in the context
 * of the task whose allocation failed (the trigger), which may be another
 * process of the same memory cgroup. Memory use and major faults are read
 * from cgroupfs by the Go side: no tracepoint here marks a fault major.
 */
#include "common.bpf.h"
#include "observe.bpf.h"
#include "memory.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096); /* the loader sets the real size */
	__type(key, __u64);
	__type(value, struct mem_stats);
} stats SEC(".maps");

const struct mem_stats zero_mem_stats = {};

/* Not inlined: its parameter is what puts struct oom_record into BTF, where
 * bpf2go finds it. */
static __noinline void fill_oom(struct oom_record *r, struct task_struct *victim, uid_t uid)
{
	struct task_struct *cur = bpf_get_current_task_btf();

	fill_header(&r->h, KIND_OOM_KILL, sizeof(*r), victim);
	r->trigger_pid = BPF_CORE_READ(cur, tgid);
	r->uid = uid;
	r->oom_score_adj = BPF_CORE_READ(victim, signal, oom_score_adj);
	r->pad = 0;
	r->trigger_cgroup = task_cgroup_id(cur);
	r->total_vm_pages = BPF_CORE_READ(victim, mm, total_vm);
	BPF_CORE_READ_STR_INTO(&r->comm, victim, comm);
	bpf_get_current_comm(&r->trigger_comm, sizeof(r->trigger_comm));
}

SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim, struct task_struct *victim, uid_t uid)
{
	struct mem_stats *st = obs_stats(&stats, task_cgroup_id(victim), &zero_mem_stats);
	struct oom_record *r;

	if (st)
		st->oom_kills += 1;
	/* no agent_tgid or cgroup filter: an OOM kill is always news */
	r = reserve_fixed(sizeof(*r), KIND_OOM_KILL);
	if (!r)
		return 0;
	fill_oom(r, victim, uid);
	submit_fixed(r, sizeof(*r));
	return 0;
}
