//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * No programs: this object only anchors the wire types of common.h (the
 * record header, enum record_kind, enum drop_reason) in BTF, so that bpf2go
 * generates them once, here; every other package uses internal/wire's.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "common.h"

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
