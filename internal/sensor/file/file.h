/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Records and filter tables of the file sensor; bpf2go generates their Go twins. */
#pragma once

#include "common.h"
#include "blob.h"

#define PATH_CAP 4088	    /* bytes kept of one path, its NUL included; more is cut */
#define WATCH_KEY_DATA 256  /* path bytes the prefix filter compares (the LPM maximum) */
#define WALK_MAX_NAMES 128  /* path components of one dentry walk */
#define WALK_MAX_STEPS 160  /* components plus mount crossings */
#define TREE_NODES 256	    /* names in the watch tree, its root included */
#define TREE_SLOTS 512	    /* hash slots of the watch tree: (parent, name) → node */
#define TREE_PROBES 8	    /* slots one lookup tries */
#define TREE_DEPTH 32	    /* components of a watched path the tree follows */
#define TREE_NAME_BYTES 32  /* bytes of a name a tree node compares */
#define XATTR_VALUE_KEPT 24 /* bytes kept of an xattr's value: a vfs_ns_cap_data */
#define XATTR_PREFIXES 8    /* xattr name prefixes the filter compares */
#define XATTR_PREFIX_BYTES 32

/* The system call behind a record: its own numbering, the same on every
 * architecture. */
enum file_syscall {
	SYS_OPEN = 1,
	SYS_OPENAT,
	SYS_OPENAT2,
	SYS_CREAT,
	SYS_UNLINK,
	SYS_UNLINKAT,
	SYS_RMDIR,
	SYS_RENAME,
	SYS_RENAMEAT,
	SYS_RENAMEAT2,
	SYS_CHMOD,
	SYS_FCHMOD,
	SYS_FCHMODAT,
	SYS_FCHMODAT2,
	SYS_CHOWN,
	SYS_FCHOWN,
	SYS_LCHOWN,
	SYS_FCHOWNAT,
	SYS_LINK,
	SYS_LINKAT,
	SYS_SYMLINK,
	SYS_SYMLINKAT,
	SYS_TRUNCATE,
	SYS_FTRUNCATE,
	SYS_MKDIR,
	SYS_MKDIRAT,
	SYS_MEMFD_CREATE,
	SYS_SETXATTR,
	SYS_LSETXATTR,
	SYS_FSETXATTR,
	SYS_SETXATTRAT,
	SYS_REMOVEXATTR,
	SYS_LREMOVEXATTR,
	SYS_FREMOVEXATTR,
	SYS_REMOVEXATTRAT,
};

/* What an access does, for the filter: a watch entry lists the accesses it
 * reports, an event is emitted when its access is among them. */
enum watch_op {
	WATCH_READ = 1 << 0,   /* open for reading only (or O_PATH) */
	WATCH_WRITE = 1 << 1,  /* open for writing, creating or truncating; every change */
	WATCH_EXEC = 1 << 2,   /* a regular file with an x bit written, or chmod to one */
	WATCH_FILE = 1 << 3,   /* a regular file opened for writing or created, or any
			       * change: not a device, fifo or socket opened for writing */
	WATCH_DELETE = 1 << 4, /* unlink, rmdir, and a rename's old name */
	WATCH_SETID = 1 << 5,  /* a chmod that sets the setuid or setgid bit */
	WATCH_HIDDEN = 1 << 6, /* on a directory's own key: a name starting with
				* '.' made directly in it (hidden.bpf.h) */
};

/* file_info.info: where the strings came from and what was cut. */
enum file_flag {
	FILE_PATH_ARG = 1 << 0,	 /* path is the syscall's argument, not the kernel's file */
	FILE_PATH2_ARG = 1 << 1, /* likewise path2 */
	FILE_PATH_CUT = 1 << 2,	 /* path was too long or too deep */
	FILE_PATH2_CUT = 1 << 3,
	FILE_INODE = 1 << 4,	  /* ino, dev and ino_mode describe the file */
	FILE_UNCLEAN = 1 << 5,	  /* an argument path holds ".." components */
	FILE_PATH_FAULT = 1 << 6, /* an argument path could not be read */
	FILE_ALIAS = 1 << 7,	  /* path is another name of a watched file
				   * (hard link, bind mount): path2 names it */
	FILE_PROC_LINK = 1 << 8,  /* an open for writing through a /proc magic
				   * link: path2 is its argument, as given */
};

/* The fixed part of every file record; the blob follows it. */
struct file_info {
	struct record_header hdr;
	__s64 ret; /* the syscall's return value; < 0 is -errno */
	enum file_syscall syscall;
	__u32 flags;	     /* as passed: open, at-, rename or memfd flags */
	__u32 mode;	     /* as passed: open with O_CREAT, chmod, mkdir */
	__u32 uid, gid;	     /* chown: the new owner, (u32)-1 when unchanged */
	enum file_flag info; /* a set of file_flag bits */
	__u64 ino;	     /* the file, when FILE_INODE: inode, device, i_mode */
	__u32 dev;
	__u32 ino_mode;
	/* setxattr family: the value's size and flags as passed, and the
	 * value's first bytes (all of a security.capability value) */
	__u32 xsize;
	__u32 xflags;
	__u8 xvalue[XATTR_VALUE_KEPT];
	struct str_ref path;  /* root first: "/etc/passwd" */
	struct str_ref path2; /* rename, link: the new name; symlink: the target;
			       * xattr calls: the attribute's name */
};

/* Prefix filter: an LPM trie keyed by path bytes. A directory is stored as
 * "dir/" (everything below it) and "dir\0" (itself); a file as "file\0",
 * so that it matches only a path that ends there. */
struct watch_key {
	__u32 prefixlen; /* bits */
	__u8 data[WATCH_KEY_DATA];
};

/*
 * The watch tree: the trie's paths as a tree of names, root first, so that
 * the path of a kernel file is judged name by name from the root, with no
 * path written out and no trie lookup, and most opens are dismissed at the
 * first or second name. Every node holds what the trie would answer there.
 * A node's children are found by hashing (parent, name) into slot[].
 * Component rules (".ssh", watched wherever the name appears) are nodes
 * too, children of TREE_ANYWHERE, their ops in here.
 */
#define TREE_ANYWHERE TREE_NODES /* the parent of the component rules */
enum tree_flag {
	/* the names cannot settle it at this node: the trie must (a name
	 * longer than TREE_NAME_BYTES, compared by its first bytes only; a
	 * path deeper than TREE_DEPTH; too many names) */
	TREE_ASK_TRIE = 1 << 0,
};

struct tree_node {
	__u32 len;	  /* the name's length; 0 for the root */
	__u32 parent;	  /* the parent's index */
	__u32 child_lens; /* bit n set: a child is n bytes long; bit 31: n >= 31 */
	/* sets of watch_op bits: the trie's ops for paths below this one
	 * ("dir/") and for this path itself ("dir\0", "file\0"; a component
	 * rule's ops), and the ops of any watch at or below this path, which
	 * say whether to go on */
	enum watch_op below, here, reach;
	enum tree_flag flags; /* a set of tree_flag bits */
	__u32 pad;
	__u64 word[TREE_NAME_BYTES / 8]; /* the name's first bytes, zero-padded */
};

struct watch_tree {
	struct tree_node node[TREE_NODES]; /* node[0] is the root, "/" */
	/* node index + 1 of the node that hashes here, or after up to
	 * TREE_PROBES - 1 taken slots; 0: none */
	__u16 slot[TREE_SLOTS];
};

/* A watched file by identity: the alias table's key and value. A file
 * reached by a path the filter does not watch (a hard link, a bind mount)
 * is still reported when its inode is here. */
#define ALIAS_PATH 256
struct file_id {
	__u64 ino;
	__u32 dev; /* the superblock's s_dev: major << 20 | minor */
	__u32 pad;
};

struct alias {
	__u32 ops; /* enum watch_op bits of the watched path */
	__u32 len; /* path's bytes, NUL included */
	char path[ALIAS_PATH];
};

/* What the programs read before every decision; one entry, set by the loader. */
struct filter_conf {
	__u32 max_key;	 /* longest watch key in bytes: compare no further */
	__u32 root_ops;	 /* ops watched on every path ("/" is watched) */
	__u32 all_ops;	 /* ops watched anywhere: an access not among them is not looked at */
	__u32 tree_slot; /* which of the two watch trees is current */
	__u32 memfd;	 /* report memfd_create */
	__u32 aliases;	 /* entries in the alias table: look there when not 0 */
	/* of the component rules watched for reads ([0]) and for changes
	 * ([1]): bit n set, one is n bytes long (n < 32); bit c of first, one
	 * starts with byte c */
	__u32 comp_lens[2];
	__u64 comp_first[2][4];
	/* xattr changes are reported when the name starts with one of the
	 * first xattr_n prefixes: the name's first XATTR_PREFIX_BYTES bytes,
	 * as little-endian words, masked, equal the prefix's */
	__u32 xattr_n;
	__u32 pad2;
	__u64 xattr_word[XATTR_PREFIXES][XATTR_PREFIX_BYTES / 8];
	__u64 xattr_mask[XATTR_PREFIXES][XATTR_PREFIX_BYTES / 8];
};
