/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Records of the io_uring sensor; bpf2go generates their Go twins. */
#pragma once

#include "common.h"
#include "blob.h"

/* The io_uring operations the sensor reports (uapi enum io_uring_op). */
enum iou_op {
	IOU_OP_CONNECT = 16,
	IOU_OP_OPENAT = 18,
	IOU_OP_OPENAT2 = 28,
};

/* iou_info.info: where the data came from and what was cut. */
enum iou_flag {
	IOU_PATH_CUT = 1 << 0,	 /* the path was too long or too deep */
	IOU_FIXED_FILE = 1 << 1, /* open: into a registered file slot; res is the slot */
	IOU_NO_FILE = 1 << 2,	 /* open: the new file was not found where res says */
	IOU_INODE = 1 << 3,	 /* ino, dev and ino_mode describe the file */
	IOU_WORKER = 1 << 4,	 /* submitted by one of io_uring's threads (SQPOLL) */
	IOU_NO_ADDR = 1 << 5,	 /* connect: the request held no address */
};

/*
 * One record: KIND_IO_URING_CREATE (a ring was set up), KIND_IO_URING_OPEN
 * (an OPENAT/OPENAT2 request completed with a file), KIND_IO_URING_CONNECT
 * (a CONNECT request completed). The blob holds the path: the opened
 * file's, leaf first as blob_path writes it; a unix socket's for connect.
 */
struct iou_info {
	struct record_header hdr;
	__s64 res; /* the completion's result; < 0 is -errno */
	__u64 ino; /* open, when IOU_INODE: inode, device, i_mode */
	__u32 dev;
	__u32 ino_mode;
	enum iou_op opcode;
	enum iou_flag info; /* a set of iou_flag bits */
	__u32 open_flags;   /* open: how.flags as passed */
	__u32 mode;	    /* open: how.mode */
	__u32 sq_entries;   /* create: the ring's sizes and setup flags */
	__u32 cq_entries;
	__u32 setup_flags;
	__s32 ring_fd; /* create: the ring's descriptor */
	__u16 family;  /* connect: the address asked for */
	__u16 sock_type;
	__u16 protocol;
	__u16 dport;	     /* host order */
	__u8 daddr[16];	     /* network order; inet: the first 4 bytes */
	struct str_ref path; /* open: the file, leaf first; connect: a unix path */
};
