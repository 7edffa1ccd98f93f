/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kfuncs vigil's programs call, declared once. A kfunc is not a stable
 * helper: it comes with a kernel version, so each one is probed by `vigil
 * probe` (internal/kernel/probe_kfunc.go loads a tiny program that calls
 * it) and its first kernel is written down here.
 *
 * | kfunc                                        | Linux | vigil probe     | called by                            |
 * |----------------------------------------------|-------|-----------------|--------------------------------------|
 * | bpf_rdonly_cast                              | 6.2   | bpf_rdonly_cast | file, network; fileguard, modguard   |
 * | bpf_iter_num_new, _next, _destroy            | 6.4   | bpf_iter_num    | file                                 |
 * | bpf_task_from_pid, bpf_task_release (weak)   | 6.2   | -               | privilege (ptrace), execguard (hold) |
 * | bpf_task_from_vpid (weak)                    | 6.13  | -               | privilege (ptrace targets)           |
 * | bpf_send_signal_task (weak)                  | 6.13  | -               | execguard (kill; end a hold)         |
 *
 * Weak ones may be missing: the object still loads, and the caller tests
 * the symbol (a missing weak kfunc is 0) and does without; they are not
 * probed (the programs report what they could not do).
 */
#pragma once

#include "common.bpf.h"

/* libbpf 1.1 lacks bpf_ksym_exists: a weak ksym the kernel lacks is 0 */
#define ksym_exists(sym) (!!(sym))

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern struct task_struct *bpf_task_from_vpid(s32 vpid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;

extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type, __u64 value)
	__ksym __weak;
