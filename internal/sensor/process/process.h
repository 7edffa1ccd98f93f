/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Records of the process sensor; bpf2go generates their Go twins. */
#pragma once

#include "common.h"
#include "blob.h"

#define ARGS_MAX 4096 /* argv bytes per exec; more is cut and flagged */
#define COMM_LEN 16

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
	__u64 ino;	  /* executed file: inode, device, mode, size, mtime */
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
};

struct fork_info {
	struct record_header hdr; /* pid/tid: the child */
	__u32 ppid;
	__u32 pad;
	__u64 start_time;
	char comm[COMM_LEN];
};

struct exit_info {
	struct record_header hdr;
	__u32 code; /* wait status: exit code << 8, or the killing signal */
	__u32 pad;
	__u64 start_time;
};
