/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The LSM tier's record: what a BPF LSM hook refused. */
#pragma once

#include "common.h"
#include "enforce.h"

#define LSM_PATH_MAX 256

enum lsm_op {
	LSM_OP_EXEC = 1,   /* bprm_check_security */
	LSM_OP_OPEN = 2,   /* file_open */
	LSM_OP_MODULE = 3, /* kernel_read_file / kernel_load_data of a module */
};

struct lsm_enforce {
	struct record_header hdr;
	struct enforce_hit hit;
	__u32 op;  /* enum lsm_op */
	__u32 dev; /* the file refused (0 for a module loaded from memory) */
	__u64 ino;
	__u32 fmode; /* file_open: the file's f_mode */
	__u32 path_len;
	char path[LSM_PATH_MAX]; /* exec: bprm->filename; open: the dentry's name */
};
