//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Probes for the kfuncs vigil's programs call (bpf/lib/kfuncs.bpf.h): one
 * tiny program per kfunc family, loaded (never attached) by `vigil probe`.
 * A kernel without the kfunc refuses to load its program.
 */
#include "common.bpf.h"
#include "kfuncs.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* bpf_iter_num_new/next/destroy: an open-coded loop (the file sensor's). */
SEC("tracepoint")
int probe_iter_num(void *ctx)
{
	struct bpf_iter_num it;
	int *v, sum = 0;

	bpf_iter_num_new(&it, 0, 2);
	while ((v = bpf_iter_num_next(&it)))
		sum += *v;
	bpf_iter_num_destroy(&it);
	return sum;
}

/* bpf_rdonly_cast: a typed read through an address the verifier sees as a
 * number. */
SEC("tracepoint")
int probe_rdonly_cast(void *ctx)
{
	struct task_struct *task = bpf_rdonly_cast((void *)bpf_get_current_task(),
						   bpf_core_type_id_kernel(struct task_struct));

	return task->tgid;
}
