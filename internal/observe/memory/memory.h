/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The memory observer's statistics per cgroup and its OOM kill record,
 * shared with Go. */
#pragma once

#include "observe.h"

#define OOM_COMM_LEN 16

struct mem_stats {
	__u64 oom_kills; /* victims chosen in the cgroup */
};

/* KIND_OOM_KILL: the header's pid, tid and cgroup are the victim's. */
struct oom_record {
	struct record_header h;
	__u32 trigger_pid;    /* the process whose allocation ran out (tgid) */
	__u32 uid;	      /* the victim's */
	__s32 oom_score_adj;  /* the victim's */
	__u32 pad;	      /* explicit: the next field is 8-aligned */
	__u64 trigger_cgroup; /* the allocating process's cgroup v2 id */
	__u64 total_vm_pages; /* the victim's address space, in pages */
	char comm[OOM_COMM_LEN];
	char trigger_comm[OOM_COMM_LEN];
};
