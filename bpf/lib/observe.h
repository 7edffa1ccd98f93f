/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the performance observers (internal/observe/<name>) share with Go:
 * the log2 histogram every latency is counted into. Types only; the
 * kernel-side helpers are observe.bpf.h.
 */
#pragma once

/* Slot i counts values v with 2^i <= v < 2^(i+1) microseconds (slot 0 also
 * counts 0); the last slot counts everything above. 2^31 us is 36 minutes. */
#define OBS_SLOTS 32

struct obs_hist {
	__u64 slots[OBS_SLOTS];
	__u64 sum_ns; /* the sum of the values counted, in nanoseconds */
};

/* Why an observer lost a sample: counted per CPU, exported by the agent. */
enum obs_loss {
	OBS_LOSS_STATS_FULL = 0,   /* the per-cgroup table had no room */
	OBS_LOSS_PENDING_FULL = 1, /* a start timestamp had no room */
	OBS_LOSS_COUNT = 2,
};
