/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The privilege sensor's state: calls between their entry and exit, the
 * syscall-number table, and the per-CPU buffer records are built in.
 */
#pragma once

#include "common.bpf.h"
#include "blob.bpf.h"
#include "args.bpf.h"
#include "privilege.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096); /* threads inside a watched call at once; the loader sets it */
	__type(key, __u64);	   /* pid_tgid */
	__type(value, struct call_entry);
} inflight SEC(".maps");

/* syscall number → the watched call, filled by the loader */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_MAX);
	__type(key, __u32);
	__type(value, struct nr_call);
} nr_calls SEC(".maps");

/*
 * The working directory at a call's entry, for calls that change what it
 * resolves to (pivot_root(".", "old") moves the directory to "/"): path
 * components, leaf first, as blob_path writes them. Filled from the blob,
 * which the value's layout starts like.
 */
#define ENTRY_PATH_MAX 2048

struct entry_path {
	__u8 data[ENTRY_PATH_MAX];
	__u32 len;
	__u32 whole; /* the walk reached the root within the room */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64); /* pivot_roots in progress at once */
	__type(key, __u64);	 /* pid_tgid */
	__type(value, struct entry_path);
} entry_paths SEC(".maps");

/* Room for the largest record; records are built here, not on the stack. */
union record {
	struct call_info call;
	struct cred_info cred;
	struct target_info target;
	struct ns_info ns;
	struct mount_info mount;
	struct module_info module;
	struct bpf_info bpf;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, union record);
} scratch SEC(".maps");

static __always_inline enum record_kind call_kind(__u32 call)
{
	switch (call) {
	case CALL_SETUID ... CALL_CAPSET:
		return KIND_PRIVILEGE_CHANGE;
	case CALL_PTRACE:
		return KIND_PTRACE;
	case CALL_PROCESS_VM_WRITEV:
		return KIND_PROCESS_VM_WRITEV;
	case CALL_UNSHARE ... CALL_CLONE3:
		return KIND_NAMESPACE_CHANGE;
	case CALL_MOUNT:
	case CALL_MOVE_MOUNT:
		return KIND_MOUNT;
	case CALL_UMOUNT:
		return KIND_UMOUNT;
	case CALL_CHROOT:
		return KIND_CHROOT;
	case CALL_PIVOT_ROOT:
		return KIND_PIVOT_ROOT;
	case CALL_INIT_MODULE:
	case CALL_FINIT_MODULE:
		return KIND_MODULE_LOAD;
	case CALL_DELETE_MODULE:
		return KIND_MODULE_UNLOAD;
	case CALL_BPF:
		return KIND_BPF_LOAD;
	case CALL_KEXEC_LOAD:
	case CALL_KEXEC_FILE_LOAD:
		return KIND_KEXEC_LOAD;
	case CALL_USERFAULTFD:
		return KIND_USERFAULTFD;
	case CALL_PERSONALITY:
		return KIND_PERSONALITY;
	}
	return KIND_NONE;
}

/*
 * begin zeroes the scratch record and fills what every record has: the
 * header, the call, its arguments and its return value. size is the fixed
 * part's; the blob, if any, follows it.
 */
static __always_inline union record *begin(__u32 size, struct task_struct *task,
					   struct call_entry *in, long ret)
{
	__u32 zero = 0;
	union record *r = bpf_map_lookup_elem(&scratch, &zero);

	if (!r)
		return NULL;
	__builtin_memset(r, 0, sizeof(*r));
	fill_header(&r->call.hdr, call_kind(in->call), size, task);
	r->call.ret = ret;
	r->call.call = in->call;
	for (int i = 0; i < 6; i++)
		r->call.args[i] = in->args[i];
	return r;
}

/* finish counts a cut string, then copies the record into the ring. (A
 * string the caller's memory did not hold is the caller's fault, not a
 * loss.) */
static __always_inline void finish(union record *r, __u32 size, struct blob *b, __u32 used)
{
	enum record_kind kind = r->call.hdr.kind;

	if (r->call.flags & PRIV_STR_CUT)
		count_drop(DROP_TRUNCATED, kind);
	emit_with_blob(r, size, b, used, kind);
}

static __always_inline void note_ustr(union record *r, enum ustr_result res)
{
	if (res == USTR_CUT)
		r->call.flags |= PRIV_STR_CUT;
	else if (res == USTR_FAULT)
		r->call.flags |= PRIV_STR_FAULT;
}
