/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The network observer's statistics per cgroup, shared with Go. */
#pragma once

#include "observe.h"

struct net_stats {
	struct obs_hist rtt;	 /* smoothed RTT, at each segment received */
	struct obs_hist connect; /* SYN sent to established */
	__u64 retransmits;
	__u64 resets; /* sent and received */
};
