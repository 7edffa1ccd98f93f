/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The I/O observer's statistics per cgroup, shared with Go. */
#pragma once

#include "observe.h"

#define IO_OPS 2 /* read, write */

struct io_stats {
	struct obs_hist latency; /* issued to the device to completed */
	__u64 bytes[IO_OPS];
	__u64 ops[IO_OPS];
};
