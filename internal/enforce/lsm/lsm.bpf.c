//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The BPF LSM tier: where the kernel runs BPF LSM programs, these hooks
 * refuse a denied exec, a protected open and a module load with -EPERM
 * instead of killing the caller afterwards. They read the kill tier's own
 * tables (exec_deny, file_protect, mod_block), handed over by the loader,
 * so one policy drives both tiers.
 *
 * Loaded in a collection of its own and only where it loads: no kernel the
 * project tests on runs BPF LSM programs (see docs/policies.md).
 */
#include "enforce.bpf.h"
#include "deny.h"
#include "lsm.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EPERM 1
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
#define READING_MODULE 2 /* enum kernel_read_file_id */
#define LOADING_MODULE 2 /* enum kernel_load_data_id */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct inode_key);
	__type(value, struct verdict);
} exec_deny SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct inode_key);
	__type(value, struct protect_entry);
} file_protect SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct verdict);
} mod_block SEC(".maps");

static __always_inline struct inode_key key_of(struct file *file)
{
	struct inode_key k = {
		.ino = BPF_CORE_READ(file, f_inode, i_ino),
		.dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev),
	};
	return k;
}

/* refuse reports what a hook decided; it returns the hook's answer. */
static __always_inline int refuse(struct enforce_hit *hit, __u32 op, struct inode_key *k,
				  __u32 fmode, const char *name, bool user)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct lsm_enforce *r = reserve_fixed(sizeof(*r), KIND_ENFORCE_LSM);

	if (r) {
		fill_header(&r->hdr, KIND_ENFORCE_LSM, sizeof(*r), task);
		r->hit = *hit;
		r->op = op;
		r->dev = k ? k->dev : 0;
		r->ino = k ? k->ino : 0;
		r->fmode = fmode;
		long n = name ? bpf_probe_read_kernel_str(r->path, sizeof(r->path), name) : 0;
		r->path_len = n > 0 ? n - 1 : 0;
		submit_fixed(r, sizeof(*r));
	}
	return hit->action == ENFORCE_DENIED ? -EPERM : 0;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(lsm_exec, struct linux_binprm *bprm, int ret)
{
	struct enforce_state *cfg = enforce_cfg();
	struct task_struct *task = bpf_get_current_task_btf();
	struct enforce_hit hit;

	if (ret || !cfg)
		return ret;
	struct inode_key k = key_of(bprm->file);
	struct verdict *v = bpf_map_lookup_elem(&exec_deny, &k);

	if (!v || exempt(task->tgid) || !decide(v, task_policies(task, cfg), ENFORCE_DENIED, &hit))
		return 0;
	return refuse(&hit, LSM_OP_EXEC, &k, 0, bprm->filename, false);
}

SEC("lsm/file_open")
int BPF_PROG(lsm_open, struct file *file, int ret)
{
	struct enforce_state *cfg = enforce_cfg();
	struct task_struct *task = bpf_get_current_task_btf();
	struct enforce_hit hit;

	if (ret || !cfg)
		return ret;
	struct inode_key k = key_of(file);
	struct protect_entry *pe = bpf_map_lookup_elem(&file_protect, &k);

	/* files only: the kill tier walks directories for subtree entries */
	if (!pe || exempt(task->tgid))
		return 0;
	__u32 fmode = file->f_mode;
	struct verdict v = {};

	if (fmode & FMODE_WRITE) {
		v.enforce |= pe->write.enforce;
		v.monitor |= pe->write.monitor;
	}
	if (fmode & FMODE_READ) {
		v.enforce |= pe->read.enforce;
		v.monitor |= pe->read.monitor;
	}
	if (!decide(&v, task_policies(task, cfg), ENFORCE_DENIED, &hit))
		return 0;
	return refuse(&hit, LSM_OP_OPEN, &k, fmode,
		      (const char *)BPF_CORE_READ(file, f_path.dentry, d_name.name), false);
}

static __always_inline int module_load(struct file *file)
{
	struct enforce_state *cfg = enforce_cfg();
	struct task_struct *task = bpf_get_current_task_btf();
	struct enforce_hit hit;
	__u32 zero = 0;
	struct verdict *v = bpf_map_lookup_elem(&mod_block, &zero);

	if (!cfg || !v || exempt(task->tgid) ||
	    !decide(v, task_policies(task, cfg), ENFORCE_DENIED, &hit))
		return 0;
	if (file) {
		struct inode_key k = key_of(file);

		return refuse(&hit, LSM_OP_MODULE, &k, 0,
			      (const char *)BPF_CORE_READ(file, f_path.dentry, d_name.name), false);
	}
	return refuse(&hit, LSM_OP_MODULE, NULL, 0, NULL, false);
}

SEC("lsm/kernel_read_file")
int BPF_PROG(lsm_module_file, struct file *file, enum kernel_read_file_id id, bool contents,
	     int ret)
{
	if (ret || id != READING_MODULE)
		return ret;
	return module_load(file);
}

SEC("lsm/kernel_load_data")
int BPF_PROG(lsm_module_data, enum kernel_load_data_id id, bool contents, int ret)
{
	if (ret || id != LOADING_MODULE)
		return ret;
	return module_load(NULL);
}

struct lsm_wire_types {
	struct lsm_enforce rec;
	enum lsm_op op;
};

/* Never created: it anchors the wire types in BTF for bpf2go. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lsm_wire_types);
} lsm_wire_types SEC(".maps");
