//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The CPU observer: run-queue latency and on-CPU time per cgroup v2, from
 * sched_switch alone.
 *
 * The scheduler already stamps every task for its schedstat account
 * (CONFIG_SCHED_INFO, /proc/<pid>/schedstat): sched_info.last_queued when
 * it is enqueued (woken, new, or preempted while runnable), last_arrival
 * when it gets the CPU, and run_delay, the sum of its waits. It updates
 * them right after the sched_switch tracepoint, in the same rq clock this
 * program reads, so at the tracepoint:
 *   - prev ran for now - prev->sched_info.last_arrival;
 *   - next's wait that ends now is run_delay + (now - last_queued) minus
 *     what run_delay was when next last got the CPU (kept in task storage:
 *     the part of a wait spent on another CPU's queue before a migration is
 *     already in run_delay, so it counts too).
 * No wake-up hook, no bpf_ktime_get_ns, one task-storage lookup and one
 * hash lookup per switch when prev and next share a cgroup.
 */
#include "common.bpf.h"
#include "observe.bpf.h"
#include "cpu.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* What the task's run_delay was when it last got the CPU. */
struct seen {
	__u64 run_delay;
	__u64 known; /* 0: storage just created */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct seen);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096); /* the loader sets the real size */
	__type(key, __u64);
	__type(value, struct cpu_stats);
} stats SEC(".maps");

const struct cpu_stats zero_cpu_stats = {};

/*
 * The cgroup of a task the tracepoint hands over, by direct BTF access: the
 * verifier turns the walk into guarded loads, cheaper on this hottest of
 * hooks than BPF_CORE_READ's helper call per pointer.
 */
static __always_inline __u64 cgroup_of(struct task_struct *t)
{
	return t->cgroups->dfl_cgrp->kn->id;
}

/*
 * The time of this CPU's run queue (rq_clock), which the scheduler stamps
 * sched_info with; it was updated at the start of __schedule and does not
 * move before sched_info_switch reads it. prev runs on this CPU, so its
 * entity's cfs_rq is this CPU's (set_task_rq sets it for every class).
 */
static __always_inline __u64 rq_clock(struct task_struct *prev)
{
	return prev->se.cfs_rq->rq->clock;
}

/*
 * The wait of next that ends now, into *wait; false when next did not wait
 * (it was not queued and nothing accrued since it last ran).
 */
static __always_inline bool waited(struct task_struct *next, __u64 now, __u64 *wait)
{
	__u64 queued = next->sched_info.last_queued;
	__u64 total = next->sched_info.run_delay;
	struct seen *s;

	if (queued && now > queued)
		total += now - queued;
	s = bpf_task_storage_get(&seen, next, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s) {
		obs_lose(OBS_LOSS_PENDING_FULL);
		return false;
	}
	if (s->known && total > s->run_delay)
		*wait = total - s->run_delay;
	else if (!s->known && queued && now > queued)
		*wait = now - queued; /* first sight: its earlier waits are not ours */
	s->run_delay = total;
	s->known = 1;
	return queued || *wait;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u64 now = rq_clock(prev), oncpu = 0, wait = 0, arrived, prev_cg = 0, next_cg = 0;
	struct cpu_stats *st = NULL;

	if (prev->pid) { /* not the idle task, whose sched_info is not kept */
		arrived = prev->sched_info.last_arrival;
		if (arrived && now > arrived) {
			oncpu = now - arrived;
			prev_cg = cgroup_of(prev);
		}
	}
	if (next->pid && waited(next, now, &wait))
		next_cg = cgroup_of(next);
	if (prev_cg) {
		st = obs_stats(&stats, prev_cg, &zero_cpu_stats);
		if (st)
			st->oncpu_ns += oncpu;
	}
	if (next_cg) {
		if (next_cg != prev_cg) /* most switches stay in one cgroup: one lookup */
			st = obs_stats(&stats, next_cg, &zero_cpu_stats);
		if (st)
			obs_observe(&st->runq, wait);
	}
	return 0;
}
