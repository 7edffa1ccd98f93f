/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Keys, map values and records of the exec guard; bpf2go generates their Go
 * twins. Only fixed-width types, explicit padding.
 */
#pragma once

#include "common.h"
#include "enforce.h"
#include "deny.h"

#define EXECG_FILENAME_MAX 512 /* bytes of the execve filename kept, NUL included */

/*
 * What says a file is still the one user space hashed. ctime is part of it
 * because mtime can be set back with utimensat and an inode number can be
 * reused by a new file of the same size; ctime can be set by neither.
 */
struct file_stamp {
	__s64 mtime_sec;
	__s64 ctime_sec;
	__s64 size;
	__u32 mtime_nsec;
	__u32 ctime_nsec;
};

/* exec_held value: a process stopped at exec until user space decides. */
struct held_exec {
	struct inode_key key;
	struct file_stamp stamp;
	__u64 start_time; /* the process's start_boottime: tells a reused pid apart */
	__u64 policies;	  /* the hash-hold policies that asked for the hold */
	__u64 held_at;	  /* boot-clock ns when the process was stopped */
};

/*
 * exec_held value: the hold and its expiry timer. The timer checks the
 * agent's heartbeat and ends the hold on its own once the agent is gone
 * (see hold_expire in execguard.bpf.c).
 */
struct held_slot {
	struct held_exec held;
	struct bpf_timer timer; /* kernel-only; reads as zero from user space */
	__u32 expiring;		/* the timer is continuing the process: not a foreign SIGCONT */
	__u32 pad;
};

/* exec_hold_expiry counters (per CPU), by index */
enum hold_expiry_stat {
	HOLD_EXPIRED = 0,      /* holds ended by the kernel: the agent was gone */
	HOLD_EXPIRE_RETRY = 1, /* signals the timer could not send from where it ran; retried */
	HOLD_NOT_HELD = 2,     /* execs a policy wanted held, let run because the
				* agent's heartbeat was stale (fail open) */
	HOLD_EXPIRY_STATS = 3,
};

/* Flags of both records. */
enum execg_flag {
	EXECG_FILENAME_CUT = 1 << 0,  /* filename was longer than EXECG_FILENAME_MAX */
	EXECG_SCRIPT = 1 << 1,	      /* the matched file is a #! script, not the interpreter */
	EXECG_SIGNAL_FAILED = 1 << 2, /* bpf_send_signal failed: user space must act */
	EXECG_CONTINUED = 1 << 3,     /* killed because a held process was continued by
					 * someone other than the agent */
	EXECG_NOT_HELD = 1 << 4,      /* not held: the agent's heartbeat was stale at the
				       * exec (fail open); user space may hash and kill late */
};

/* KIND_ENFORCE_EXEC: a denied file was executed. */
struct exec_enforce {
	struct record_header hdr;
	struct enforce_hit hit;
	enum execg_flag flags; /* a set of execg_flag bits */
	__u32 dev;	       /* the matched file */
	__u64 ino;
	__u64 exe_ino; /* the executed file: the interpreter when EXECG_SCRIPT */
	__u32 exe_dev;
	__u32 filename_len; /* bytes of filename, without the NUL */
	__u64 start_time;
	char filename[EXECG_FILENAME_MAX]; /* as given to execve, NUL-terminated */
};

/* KIND_EXEC_HOLD: a process stopped before its first instruction because
 * its binary is not known to be clean; user space hashes it and then
 * continues or kills it. With EXECG_NOT_HELD (or EXECG_SIGNAL_FAILED) the
 * process was not stopped and runs: user space may only kill it late. */
struct exec_hold {
	struct record_header hdr;
	struct held_exec held;
	enum execg_flag flags;
	__u32 filename_len;
	char filename[EXECG_FILENAME_MAX];
};
