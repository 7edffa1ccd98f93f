/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The CPU observer's statistics per cgroup, shared with Go (bpf2go -type). */
#pragma once

#include "observe.h"

struct cpu_stats {
	struct obs_hist runq; /* wake-up (or preemption) to running */
	__u64 oncpu_ns;	      /* time its tasks spent running */
};
