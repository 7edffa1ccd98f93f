//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * No programs: this object only carries the shared maps (events, drops) and
 * the wire types of common.h, so that the Go side creates the maps once and
 * bpf2go generates the record header and kind enum for it.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct wire_types {
	struct record_header hdr;
	enum record_kind kind;
	enum drop_reason reason;
};

/* Never created: it anchors the wire types in BTF for bpf2go. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wire_types);
} wire_types SEC(".maps");
