/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Records of the process sensor; bpf2go generates their Go twins. */
#pragma once

#include "common.h"
#include "blob.h"

#define ARGS_MAX 4096 /* argv bytes per exec; more is cut and flagged */
#define COMM_LEN 16
#define CAP_SETS 4 /* capability sets an exec reports (read_task_caps) */

/* Watched environment variables (env.bpf.h). */
#define ENV_NAME_LEN 32	    /* a watched name with its NUL; longer names are refused */
#define ENV_NAMES_MAX 64    /* watched names */
#define ENV_VARS_MAX 64	    /* upper bound of the env_max_vars knob */
#define ENV_BYTES_MAX 4096  /* upper bound of the env_max_bytes knob */
#define ENV_CHUNK 4096	    /* bytes of one variable read at once */
#define ENV_SCAN_STEPS 4096 /* variables examined (plus one per chunk of a long one) */

/* exec_info.flags: what was cut or is special about this exec. */
enum exec_flag {
	EXEC_ARGS_CUT = 1 << 0,
	EXEC_BINARY_CUT = 1 << 1,
	EXEC_FILENAME_CUT = 1 << 2,
	EXEC_CWD_CUT = 1 << 4,
	EXEC_CGROUP_CUT = 1 << 5,
	EXEC_BINARY_DELETED = 1 << 6, /* the executed file has no name left */
	EXEC_ARGS_FAULT = 1 << 7,     /* argv could not be read */
	EXEC_INTERPRETED = 1 << 8,    /* a #! script (or binfmt_misc): filename is the script */
	EXEC_ENV_CUT = 1 << 9,	      /* a watched variable was left out or cut (count, bytes) */
	EXEC_ENV_UNSCANNED = 1 << 10, /* the environment went on past what was examined */
};

/* The fixed part of a process_exec record; the blob follows it. */
struct exec_info {
	struct record_header hdr;
	__u32 ppid;
	__u32 flags; /* a set of enum exec_flag bits */
	__u32 uid, euid, gid, egid;
	__u32 auid;
	__u32 pid_ns, mnt_ns, net_ns;
	__u64 start_time; /* boot ns when the process was forked */
	/* the new image's capability sets as exec left them, bit n for
	 * capability n: effective, permitted, inheritable, bounding */
	__u64 caps[CAP_SETS];
	__u32 vpid; /* the pid as the process's own pid namespace numbers it */
	__u32 pad;
	__u64 ino; /* executed file: inode, device, mode, size, mtime */
	__u32 dev;
	__u32 mode;
	__s64 size;
	__s64 mtime_sec;
	__u32 mtime_nsec;
	__u32 argc;
	char comm[COMM_LEN];
	struct str_ref filename; /* as given to execve */
	struct str_ref binary;	 /* path of the executed file, components leaf first */
	struct str_ref cwd;	 /* components leaf first */
	struct str_ref cgroup;	 /* components leaf first */
	struct str_ref args;	 /* NUL-separated argv */
	struct str_ref tty;
	struct str_ref env; /* NUL-separated NAME=value of the watched variables */
};

/* A key of the env_names map: a watched name, NUL-padded. */
struct env_name {
	char name[ENV_NAME_LEN];
};

struct fork_info {
	struct record_header hdr; /* pid/tid: the child */
	__u32 ppid;
	__u32 pad;
	__u64 start_time;
	char comm[COMM_LEN];
};

/* A thread group leader's comm changed outside exec: prctl(PR_SET_NAME)
 * or a write to /proc/PID/comm. */
struct rename_info {
	struct record_header hdr;
	char old_comm[COMM_LEN];
	char comm[COMM_LEN];
};

struct exit_info {
	struct record_header hdr;
	__u32 code; /* wait status: exit code << 8, or the killing signal */
	__u32 pad;
	__u64 start_time;
};

/* signal_info.flags */
enum signal_flag {
	SIGNAL_TO_AGENT = 1 << 0,   /* the target is the vigil agent itself */
	SIGNAL_BINARY_CUT = 1 << 1, /* the target's binary path was cut */
	SIGNAL_TO_GROUP = 1 << 2,   /* sent to the whole thread group (kill), not a thread */
};

/* A signal that ends or stops a process (SIGKILL, SIGTERM, SIGSTOP …),
 * sent by a process (kill, tgkill, sigqueue) to another one. The header's
 * task is the sender. */
struct signal_info {
	struct record_header hdr;
	__u32 sig;
	__s32 code;	  /* si_code: SI_USER 0, SI_QUEUE -1, SI_TKILL -6 */
	__u32 target_pid; /* tgid, as the host numbers it */
	__u32 target_tid;
	__s32 result; /* enum trace_signal_result: 0 delivered, 1 ignored … */
	__u32 flags;  /* enum signal_flag bits */
	char target_comm[COMM_LEN];
	struct str_ref target_binary;
};
