/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Records of the privilege sensor; bpf2go generates their Go twins. */
#pragma once

#include "common.h"
#include "blob.h"

/*
 * The system calls the sensor watches. Their numbers differ between
 * architectures, so records name them by this enum; the loader maps the
 * running architecture's numbers onto it (the nr_calls map).
 */
enum priv_call {
	CALL_NONE = 0,
	CALL_SETUID = 1,
	CALL_SETGID = 2,
	CALL_SETREUID = 3,
	CALL_SETREGID = 4,
	CALL_SETRESUID = 5,
	CALL_SETRESGID = 6,
	CALL_SETFSUID = 7,
	CALL_SETFSGID = 8,
	CALL_CAPSET = 9,
	CALL_PTRACE = 10,
	CALL_PROCESS_VM_WRITEV = 11,
	CALL_UNSHARE = 12,
	CALL_SETNS = 13,
	CALL_CLONE = 14,
	CALL_CLONE3 = 15,
	CALL_MOUNT = 16,
	CALL_MOVE_MOUNT = 17,
	CALL_UMOUNT = 18,
	CALL_CHROOT = 19,
	CALL_PIVOT_ROOT = 20,
	CALL_INIT_MODULE = 21,
	CALL_FINIT_MODULE = 22,
	CALL_DELETE_MODULE = 23,
	CALL_BPF = 24,
	CALL_KEXEC_LOAD = 25,
	CALL_KEXEC_FILE_LOAD = 26,
	CALL_USERFAULTFD = 27,
	CALL_PERSONALITY = 28,
	CALL_COUNT = 29,
};

#define NR_MAX 1024 /* syscall numbers below this are looked up */

/* What the loader says about one syscall number (the nr_calls map). */
struct nr_call {
	__u8 call;	 /* enum priv_call; CALL_NONE when not watched */
	__u8 nargs;	 /* how many arguments it takes; the others are garbage */
	__u8 dispatched; /* the kernel has no tracepoint for it: the dispatcher watches it */
	__u8 pad;
};

/* call_info.flags */
enum priv_flag {
	PRIV_STR_CUT = 1 << 0,	    /* a string or path was cut */
	PRIV_STR_FAULT = 1 << 1,    /* a string in user memory could not be read */
	PRIV_TARGET_FOUND = 1 << 2, /* target_info: the other task was found */
	PRIV_PROG_FOUND = 1 << 3,   /* bpf_info: the program was read from the kernel */
};

/* Starts every record of this sensor: the call and its outcome. */
struct call_info {
	struct record_header hdr;
	__s64 ret;
	__u64 args[6]; /* as passed; unused ones are 0 */
	enum priv_call call;
	enum priv_flag flags; /* a set of priv_flag bits */
};

struct priv_creds {
	__u32 uid, euid, suid, fsuid;
	__u32 gid, egid, sgid, fsgid;
};

struct priv_caps {
	__u64 effective, permitted, inheritable;
};

/* privilege_change: set*id and capset, with the ids before and after. */
struct cred_info {
	struct call_info call;
	struct priv_creds before, after;
	struct priv_caps caps_before, caps_after;
};

/* ptrace, process_vm_writev: the other process. */
struct target_info {
	struct call_info call;
	__u32 pid, tid;	       /* host ids of the target; 0 when not found */
	struct str_ref binary; /* its executable, components leaf first */
	__u32 pad;
};

/* namespace_change: unshare, setns, clone and clone3 with CLONE_NEW* flags. */
struct ns_info {
	struct call_info call;
	__u64 flags; /* unshare/clone flags, setns nstype */
	__u32 types; /* CLONE_NEW* bits of the namespaces created or entered */
	__u32 pad;
};

/*
 * mount, move_mount, umount, chroot, pivot_root. Strings are as the caller
 * gave them; base is the directory relative ones are resolved against (the
 * working directory, or move_mount's directory descriptor), present only
 * when one of them is relative; resolved is chroot's new root as the
 * kernel resolved it. base and resolved are components, leaf first.
 */
struct mount_info {
	struct call_info call;
	struct str_ref source, target, fstype;
	struct str_ref base, resolved;
	__u32 pad;
};

/* module_load, module_unload. */
struct module_info {
	struct call_info call;
	char name[64];	     /* module/module_load's name, or delete_module's argument */
	struct str_ref path; /* finit_module's file, components leaf first */
	__u32 pad;
};

/* bpf_load: BPF_PROG_LOAD, BPF_PROG_ATTACH, BPF_LINK_CREATE, BPF_RAW_TRACEPOINT_OPEN. */
struct bpf_info {
	struct call_info call;
	__u32 cmd;
	__u32 prog_type;
	__u32 attach_type;
	__u32 insns;
	char prog_name[16];
	struct str_ref
		target; /* raw tracepoint name, or the kernel function a tracing program attaches to */
	__u32 pad;
};

/* The call's entry state, kept per thread (pid_tgid) until its exit. */
struct call_entry {
	__u64 args[6];
	enum priv_call call;
	__u32 ns_types;		 /* setns: the namespace the descriptor refers to */
	__u64 aux;		 /* clone3: its flags, read from user memory at entry */
	struct priv_creds creds; /* before the call, for privilege_change */
	struct priv_caps caps;
	char modname[64]; /* module/module_load fired inside this call */
};
