/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Deny-table entries the kill tier (execguard, fileguard) and the BPF LSM
 * tier (internal/enforce/lsm) share: the loader hands the same maps to
 * both, so their keys and values are defined once. bpf2go generates their
 * Go twins in each package that names them with -type.
 */
#pragma once

#include "enforce.h"

/* protect_entry.flags */
enum protect_flag {
	/* the entry is a directory: it protects itself and everything below
	 * it, down through mount points */
	PROTECT_SUBTREE = 1 << 0,
};

/* A file as the kernel names it: the inode's number and its superblock's
 * s_dev (major << 20 | minor); the key of exec_deny, the exec_* maps and
 * file_protect. */
struct inode_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

/* The value of a file_protect entry: which policies block (or report) an
 * open of the file for writing, and which for reading. */
struct protect_entry {
	struct verdict write;
	struct verdict read;
	__u32 flags; /* enum protect_flag bits */
	__u32 pad;
};
