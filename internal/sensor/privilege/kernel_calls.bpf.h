/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Calls that change the running kernel or arm an exploit: modules, bpf(),
 * kexec, userfaultfd, personality.
 */
#pragma once

#include "record.bpf.h"
#include "path.bpf.h"

#define MODULE_NAME_MAX 64 /* MODULE_NAME_LEN is 56 */
#define TP_NAME_MAX 128
#define FUNC_NAME_MAX 128
#define PERSONALITY_QUERY 0xffffffff

/* bpf() commands that load a program or attach one. */
static __always_inline bool bpf_cmd_reported(__u64 cmd)
{
	return cmd == BPF_PROG_LOAD || cmd == BPF_PROG_ATTACH || cmd == BPF_LINK_CREATE ||
	       cmd == BPF_RAW_TRACEPOINT_OPEN;
}

static __always_inline void emit_module(struct task_struct *task, struct call_entry *in, long ret)
{
	union record *r = begin(sizeof(struct module_info), task, in, ret);
	struct blob *b = blob_get();
	__u32 used = 0;

	if (!r || !b)
		return;
	switch (in->call) {
	case CALL_DELETE_MODULE: /* (name, flags) */
		if (bpf_probe_read_user_str(r->module.name, sizeof(r->module.name),
					    (const char *)in->args[0]) < 0)
			r->call.flags |= PRIV_STR_FAULT;
		break;
	case CALL_FINIT_MODULE: { /* (fd, args, flags) */
		struct file *f = task_fd_file(task, in->args[0]);

		if (f && !blob_file_path(&used, &r->module.path, f))
			r->call.flags |= PRIV_STR_CUT;
	}
		/* fall through */
	default: /* the name module/module_load gave while the call ran */
		__builtin_memcpy(r->module.name, in->modname, sizeof(r->module.name));
	}
	finish(r, sizeof(struct module_info), b, used);
}

/* prog_of returns the program behind a descriptor, or NULL when the
 * descriptor holds something else (a map, for struct_ops links). */
static __always_inline struct bpf_prog *prog_of(struct task_struct *task, long fd)
{
	struct file *f = task_fd_file(task, fd);
	struct bpf_prog *prog = BPF_CORE_READ(f, private_data);

	/* a program's aux points back at it; nothing else's data does */
	if (!f || !prog || BPF_CORE_READ(prog, aux, prog) != prog)
		return NULL;
	return prog;
}

static __always_inline void read_prog(union record *r, struct bpf_prog *prog)
{
	r->bpf.prog_type = BPF_CORE_READ(prog, type);
	r->bpf.insns = BPF_CORE_READ(prog, len);
	bpf_probe_read_kernel_str(r->bpf.prog_name, sizeof(r->bpf.prog_name),
				  BPF_CORE_READ(prog, aux, name));
	r->call.flags |= PRIV_PROG_FOUND;
}

static __always_inline void emit_bpf(struct task_struct *task, struct call_entry *in, long ret)
{
	union record *r = begin(sizeof(struct bpf_info), task, in, ret);
	struct blob *b = blob_get();
	union bpf_attr *attr = (union bpf_attr *)in->args[1];
	struct bpf_prog *prog = NULL;
	__u32 used = 0, fd = 0;
	bool have_fd = false;

	if (!r || !b)
		return;
	r->bpf.cmd = in->args[0];
	/* the attributes as the caller gave them; a command that failed
	 * has nothing else to show */
	switch (in->args[0]) {
	case BPF_PROG_LOAD:
		bpf_probe_read_user(&r->bpf.prog_type, sizeof(__u32), &attr->prog_type);
		bpf_probe_read_user(&r->bpf.insns, sizeof(__u32), &attr->insn_cnt);
		bpf_probe_read_user(r->bpf.prog_name, sizeof(r->bpf.prog_name), attr->prog_name);
		bpf_probe_read_user(&r->bpf.attach_type, sizeof(__u32),
				    &attr->expected_attach_type);
		if (ret >= 0) {
			/* a tracing program's target is resolved at load */
			prog = prog_of(task, ret);
			if (prog &&
			    !blob_kstr(b, &used, &r->bpf.target,
				       BPF_CORE_READ(prog, aux, attach_func_name), FUNC_NAME_MAX))
				r->call.flags |= PRIV_STR_CUT;
			prog = NULL; /* the caller's attributes say it all */
		}
		break;
	case BPF_PROG_ATTACH:
		bpf_probe_read_user(&r->bpf.attach_type, sizeof(__u32), &attr->attach_type);
		have_fd = !bpf_probe_read_user(&fd, sizeof(fd), &attr->attach_bpf_fd);
		break;
	case BPF_LINK_CREATE:
		bpf_probe_read_user(&r->bpf.attach_type, sizeof(__u32),
				    &attr->link_create.attach_type);
		have_fd = !bpf_probe_read_user(&fd, sizeof(fd), &attr->link_create.prog_fd);
		break;
	case BPF_RAW_TRACEPOINT_OPEN: {
		__u64 name = 0;

		bpf_probe_read_user(&name, sizeof(name), &attr->raw_tracepoint.name);
		note_ustr(r, blob_ustr(b, &used, &r->bpf.target, (const char *)name, TP_NAME_MAX));
		have_fd = !bpf_probe_read_user(&fd, sizeof(fd), &attr->raw_tracepoint.prog_fd);
		break;
	}
	}
	/* the program being attached, even when attaching failed: prog_of
	 * makes sure the descriptor holds one */
	if (have_fd)
		prog = prog_of(task, fd);
	if (prog)
		read_prog(r, prog);
	finish(r, sizeof(struct bpf_info), b, used);
}
