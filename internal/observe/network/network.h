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

/* How many remote ports can be watched, and how many (cgroup, port)
 * entries their figures can take. */
#define NET_MAX_PORTS 16
#define NET_PORT_ENTRIES 4096

/* A watched remote port's figures in one cgroup. */
struct net_port_key {
	__u64 cgroup;
	__u16 port; /* host byte order */
	__u16 pad[3];
};

struct net_port_stats {
	struct obs_hist rtt;
	struct obs_hist connect;
	__u64 retransmits;
};
