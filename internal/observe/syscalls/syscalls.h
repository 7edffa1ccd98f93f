/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The syscall recorder's maps; bpf2go generates their Go twins. */
#pragma once

#define SC_NR_MAX 1024 /* call numbers recorded per architecture: 0..1023 */
#define SC_WORDS (SC_NR_MAX / 64)
#define SC_SLOTS 64		/* recorded cgroups (subtrees) at once */
#define SC_LEVELS 32		/* deepest cgroup level a recorded cgroup may sit at */
#define SC_X32_BIT 0x40000000UL /* x86-64's __X32_SYSCALL_BIT */

/* The calling convention a call came in by. */
enum sc_arch {
	SC_ARCH_NATIVE = 0, /* x86-64's syscall instruction (arm64's svc) */
	SC_ARCH_X32 = 1,    /* x86-64 syscall with __X32_SYSCALL_BIT */
	SC_ARCH_IA32 = 2,   /* int $0x80 / sysenter: an ia32 compat call */
	SC_ARCH_COUNT = 3,
};

/* Per-CPU counters of what the recorder saw and what it could not keep. */
enum sc_counter {
	SC_CALLS = 0,	     /* calls by tasks in recorded cgroups */
	SC_OUT_OF_RANGE = 1, /* a number >= SC_NR_MAX: not in the bitmap */
	SC_NEGATIVE = 2,     /* a negative number (-1: no call; a tracer's doing) */
	SC_NO_BITMAP = 3,    /* a recorded cgroup whose slot has no bitmap */
	SC_COUNTER_COUNT = 4,
};

/* One recorded cgroup's calls: bit nr of words[arch] is set once a task of
 * the subtree entered call nr by that convention. */
struct sc_bitmap {
	__u64 words[SC_ARCH_COUNT][SC_WORDS];
};

/* settings[0], written by user space while the program runs. */
struct sc_config {
	__u64 levels; /* bit L set: some recorded cgroup sits at level L */
};
