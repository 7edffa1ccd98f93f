/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The file guard's map entries and records; bpf2go generates their Go twins. */
#pragma once

#include "common.h"
#include "blob.h"
#include "enforce.h"
#include "deny.h"

#define PROTECT_MAX_ENTRIES 16384
#define GUARD_WALK_MAX 64 /* directory levels (and mount crossings) searched for subtrees */

/* The call behind a record: the guard's own numbering, the same everywhere. */
enum guard_syscall {
	GUARD_OPEN = 1,
	GUARD_OPENAT = 2,
	GUARD_OPENAT2 = 3,
	GUARD_CREAT = 4,
	GUARD_OPEN_BY_HANDLE_AT = 5,
};

/*
 * file_state[0]: a summary of file_protect the programs read before
 * anything else, so that a host without file policies pays one array
 * lookup per open, and an open that no policy could care about stops
 * before its task's policies are looked up.
 */
struct guard_state {
	__u32 entries;	      /* entries in file_protect */
	__u32 subtrees;	      /* of which PROTECT_SUBTREE */
	__u64 write_policies; /* union of every entry's write verdict (enforce | monitor) */
	__u64 read_policies;  /* likewise read */
};

/* file_enforce.info */
enum guard_info {
	GUARD_PATH_CUT = 1 << 0, /* the path was too long or too deep */
	GUARD_WRITE = 1 << 1,	 /* the open counted as a write */
	GUARD_READ = 1 << 2,	 /* the open counted as a read */
};

/* KIND_ENFORCE_FILE: an open a policy acted on; the path's blob follows. */
struct file_enforce {
	struct record_header hdr;
	struct enforce_hit hit;
	__s64 fd;	 /* what the open returned */
	__u64 ino;	 /* the opened file */
	__u64 match_ino; /* the entry that matched: the file, or a directory above it */
	__u32 dev;
	__u32 match_dev;
	__u32 f_flags; /* the struct file's flags (the kernel clears O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC) */
	__u32 call_flags;    /* the flags the call passed */
	__u32 f_mode;	     /* FMODE_* of the struct file */
	__u32 ino_mode;	     /* the opened inode's i_mode */
	__u16 syscall;	     /* enum guard_syscall */
	__u16 depth;	     /* levels from the file up to the matched entry; 0: the file itself */
	__u32 info;	     /* enum guard_info bits */
	struct str_ref path; /* leaf first: "passwd\0etc\0" */
	__u32 pad;
};

/* What the resolver iterator writes per descriptor of the agent. */
struct resolved_fd {
	__u32 fd;
	__u32 dev;
	__u64 ino;
	__u32 mode;
	__u32 pad;
};
