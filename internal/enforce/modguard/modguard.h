/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The module guard's records; bpf2go generates their Go twins. */
#pragma once

#include "common.h"
#include "blob.h"
#include "enforce.h"
#include "deny.h"

#define MOD_PARAMS_MAX 256 /* bytes of init_module's parameter string kept */
#define MOD_NAME_MAX 64	   /* MODULE_NAME_LEN is 56 */
#define MOD_INFLIGHT_MAX 1024
#define MOD_ALLOW_MAX 16384 /* module files an allowlist may approve */

/* The call behind a record: the guard's own numbering. */
enum mod_syscall {
	MOD_INIT_MODULE = 1,
	MOD_FINIT_MODULE = 2,
};

/* mod_enforce.info */
enum mod_info {
	MOD_PARAMS_CUT = 1 << 0,    /* the parameter string was longer than kept */
	MOD_PARAMS_FAULT = 1 << 1,  /* the parameter string could not be read */
	MOD_PATH_CUT = 1 << 2,	    /* the file's path was too long or too deep */
	MOD_NO_FILE = 1 << 3,	    /* finit_module's descriptor named no file at exit */
	MOD_COMPAT = 1 << 4,	    /* a 32-bit (compat) system call */
	MOD_DISPATCHED = 1 << 5,    /* seen by the sys_enter dispatcher, not a syscall tracepoint */
	MOD_ALLOW_CHANGED = 1 << 6, /* an approved file, changed since user space hashed it */
};

/* mod_allow's value: a module file an allowlist approves (keyed by its
 * struct inode_key), the policies that approve it, and its size and
 * change time when user space hashed it. A write changes the change time,
 * which no one can set back, so a file written since is not approved. */
struct mod_allow_entry {
	__u64 policies; /* bit n: policy n approves the file */
	__u64 size;
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 pad;
};

/* What the entry decided, kept per thread until the exit. */
struct mod_call {
	struct enforce_hit hit;
	__u32 syscall; /* enum mod_syscall */
	__u32 info;    /* enum mod_info bits */
	__u64 len;     /* init_module: the image's length */
	__s32 fd;      /* finit_module: the descriptor and flags */
	__u32 flags;
	char params[MOD_PARAMS_MAX]; /* as read at entry, NUL-terminated */
	char name[MOD_NAME_MAX];     /* from module/module_load, when the kernel has it */
};

/* KIND_ENFORCE_MODULE: a module load a policy acted on, reported at the
 * call's exit with its outcome; the blob holds the strings. */
struct mod_enforce {
	struct record_header hdr;
	struct enforce_hit hit;
	__s64 ret;	       /* what the call returned; < 0 is -errno */
	__u64 len;	       /* init_module: the image's length */
	__s32 fd;	       /* finit_module: the descriptor */
	__u32 flags;	       /* finit_module: MODULE_INIT_* flags */
	__u16 syscall;	       /* enum mod_syscall */
	__u16 info;	       /* enum mod_info bits */
	struct str_ref path;   /* finit_module: the file, leaf first ("x.ko\0tmp\0") */
	struct str_ref params; /* init_module: the parameter string */
	struct str_ref name;   /* the module's name, when module/module_load told */
};
