//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The CPU observer: run-queue latency and on-CPU time per cgroup v2.
 *
 * A task is stamped when it becomes runnable (sched_wakeup, sched_wakeup_new,
 * or preempted while still runnable at sched_switch) and when it gets the
 * CPU; at the next switch the time since each stamp is counted into the
 * cgroup's histogram (run-queue latency) or total (on-CPU time). The stamps
 * live in task storage, so no table of pids can fill up.
 */
#include "common.bpf.h"
#include "observe.bpf.h"
#include "cpu.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TASK_RUNNING 0

struct stamps {
	__u64 queued;  /* when it became runnable; 0 once it ran */
	__u64 running; /* when it got the CPU; 0 when not running */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct stamps);
} stamps SEC(".maps");

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

static __always_inline void queued(struct task_struct *p)
{
	struct stamps *s;

	if (!p->pid) /* the idle task */
		return;
	s = bpf_task_storage_get(&stamps, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s) {
		obs_lose(OBS_LOSS_PENDING_FULL);
		return;
	}
	s->queued = bpf_ktime_get_ns();
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	queued(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	queued(p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u64 now = bpf_ktime_get_ns();
	struct cpu_stats *st;
	struct stamps *s;

	if (prev->pid) {
		s = bpf_task_storage_get(&stamps, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (s) {
			if (s->running && now > s->running) {
				/* prev is still current here */
				st = obs_stats(&stats, bpf_get_current_cgroup_id(),
					       &zero_cpu_stats);
				if (st)
					st->oncpu_ns += now - s->running;
			}
			s->running = 0;
			/* preempted but still runnable: it waits in the queue again */
			if (prev_state == TASK_RUNNING)
				s->queued = now;
		}
	}
	if (!next->pid)
		return 0;
	s = bpf_task_storage_get(&stamps, next, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s)
		return 0;
	if (s->queued && now > s->queued) {
		st = obs_stats(&stats, cgroup_of(next), &zero_cpu_stats);
		if (st)
			obs_observe(&st->runq, now - s->queued);
	}
	s->queued = 0;
	s->running = now;
	return 0;
}
