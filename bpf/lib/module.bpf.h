/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The module/module_load tracepoint, which names the module an
 * init_module or finit_module call loads. vmlinux.h comes from a kernel
 * built without modules, so its record layout is a flavour of our own,
 * relocated against the running kernel's where it has modules.
 */
#pragma once

#include "common.bpf.h"

struct trace_event_raw_module_load___vigil {
	struct trace_entry ent;
	unsigned int taints;
	__u32 __data_loc_name;
} __attribute__((preserve_access_index));

/* module_load_name copies the loaded module's name into dst. */
static __always_inline void module_load_name(struct trace_event_raw_module_load___vigil *ctx,
					     char *dst, __u32 size)
{
	/* __data_loc: the string's offset in the record, in the low 16 bits */
	__u32 loc = ctx->__data_loc_name;

	bpf_probe_read_kernel_str(dst, size, (void *)ctx + (loc & 0xffff));
}
