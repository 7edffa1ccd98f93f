//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * No programs: this object only carries the shared maps (events, drops) and
 * the knobs of common.h, so that the Go side creates the maps once. The wire
 * types are generated from internal/wire's object.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
