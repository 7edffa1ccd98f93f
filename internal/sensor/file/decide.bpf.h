/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The decisions every program of the file sensor shares: is this file, or
 * this path argument, watched for this access? When it is, its path (and
 * for a file, its inode) goes into the record being built in the per-CPU
 * scratch.
 */
#pragma once

#include "filter.bpf.h"
#include "argpath.bpf.h"

/* include/uapi/asm-generic/fcntl.h and linux/fs.h: #defines, not in BTF */
#define O_ACCMODE 00000003
#define O_WRONLY 00000001
#define O_CREAT 00000100
#define O_TRUNC 00001000
#define O_TMPFILE_BIT 020000000
#define FMODE_WRITE 0x2
#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_IXUGO 00111
#define S_ISID 06000 /* S_ISUID | S_ISGID */

/*
 * The decisions below are global functions: the verifier checks each once
 * per program, not once per call, and every program shares them. They take
 * plain numbers and find the task, the scratch and the tables themselves.
 */
struct env {
	struct task_struct *task;
	struct scratch *s;
	struct blob *b;
	const struct filter_conf *conf;
	struct path_root root;
};

static __always_inline bool env_get(struct env *e)
{
	__u32 zero = 0;

	e->s = bpf_map_lookup_elem(&scratches, &zero);
	e->conf = bpf_map_lookup_elem(&filter, &zero);
	e->b = blob_get();
	if (!e->s || !e->conf || !e->b)
		return false;
	e->task = bpf_get_current_task_btf();
	e->root.dentry = e->task->fs->root.dentry;
	e->root.mnt = e->task->fs->root.mnt;
	return true;
}

static __always_inline void set_inode(struct file_info *e, struct file *f)
{
	struct inode *inode = f->f_inode;

	e->ino = inode->i_ino;
	e->dev = inode->i_sb->s_dev;
	e->ino_mode = inode->i_mode;
	e->info |= FILE_INODE;
}

/*
 * decide_fd: is the file open as fd watched for need? For an open, the
 * file itself refines need: written if the kernel opened it for writing,
 * an exec change if it is then a regular file with an x bit. When watched
 * (or always) its kernel path and inode go into the record. Returns the
 * matching ops.
 */
__noinline __u32 decide_fd(long fd, __u32 need, __u32 refine, __u32 always)
{
	struct env e;

	if (!env_get(&e))
		return 0;
	struct file *f = fd_file(e.task, fd);
	if (!f)
		return 0;
	if (refine) {
		__u32 imode = f->f_inode->i_mode;

		if (f->f_mode & FMODE_WRITE)
			need = WATCH_WRITE;
		/* a regular file written: a file change, an exec change when
		 * it has an x bit; a device written (/dev/null) is neither */
		if ((need & WATCH_WRITE) && (imode & S_IFMT) == S_IFREG)
			need |= WATCH_FILE | (imode & S_IXUGO ? WATCH_EXEC : 0);
	}
	__u32 ops = file_path(e.s, e.b, e.conf, need, f, &e.root, KEY_SLOT, &e.s->ref,
			      FILE_PATH_CUT, always) &
		    need;
	const struct alias *a = NULL;

	if (!ops && !always && e.conf->aliases) {
		/* not watched by its path: maybe by its identity */
		struct file_id id = { .ino = f->f_inode->i_ino, .dev = f->f_inode->i_sb->s_dev };

		a = bpf_map_lookup_elem(&aliases, &id);
		if (!a || !(a->ops & need))
			return 0;
		ops = a->ops & need;
		e.s->info.info &= ~FILE_PATH_CUT;
		file_path(e.s, e.b, e.conf, need, f, &e.root, KEY_SLOT, &e.s->ref, FILE_PATH_CUT,
			  true);
	}
	if (ops || always) {
		e.s->info.path = e.s->ref;
		set_inode(&e.s->info, f);
	}
	if (a) {
		__u32 base = next_base(&e.s->info.path);
		__u32 len = a->len;

		if (len > ALIAS_PATH)
			len = ALIAS_PATH; /* for the verifier: the loader never writes more */
		/* base < PATH_CAP + 2 * KEY_SLOT: the copy stays inside the blob */
		if (len && !bpf_probe_read_kernel(&e.b->data[base & BLOB_OFF_MASK], len, a->path)) {
			e.s->info.path2.off = base;
			e.s->info.path2.len = len;
			e.s->info.info |= FILE_ALIAS;
		}
	}
	return ops;
}

/*
 * decide_arg: is the path argument upath (relative to dirfd) watched for
 * need? It goes into the record's path, or path2 when second. Returns the
 * matching ops.
 */
__noinline __u32 decide_arg(int dirfd, __u64 upath, __u32 need, __u32 second)
{
	struct env e;

	if (!env_get(&e))
		return 0;
	struct file_info *info = &e.s->info;
	__u32 base = second ? next_base(&info->path) : KEY_SLOT;
	__u32 ops = arg_path(e.s, e.b, e.conf, e.task, need, dirfd, (const char *)upath, &e.root,
			     base, &e.s->ref, second ? FILE_PATH2_ARG : FILE_PATH_ARG,
			     second ? FILE_PATH2_CUT : FILE_PATH_CUT) &
		    need;

	if (second)
		info->path2 = e.s->ref;
	else
		info->path = e.s->ref;
	return ops;
}

/*
 * decide_target reads a symlink's target text into path2 and matches it
 * when it is absolute: a link made to point into a watched tree is a
 * change worth seeing. The text is matched cleaned ("/etc//shadow" is
 * /etc/shadow) and reported as written. An absolute target with ".." may
 * point anywhere once followed: it is reported, flagged unclean. Returns
 * the matching ops.
 */
__noinline __u32 decide_target(__u64 target, __u32 need)
{
	struct env e;

	if (!env_get(&e))
		return 0;
	struct scratch *s = e.s;
	__u32 base = next_base(&s->info.path);
	__u32 unclean = s->unclean; /* the link path's, kept apart */

	s->info.path2.off = base;
	s->info.path2.len = 0;
	/* base < BLOB_USED_MAX - PATH_CAP: the mask only shows the verifier */
	long n = bpf_probe_read_user_str(&e.b->data[base & BLOB_OFF_MASK], PATH_CAP,
					 (const void *)target);
	if (n <= 0) {
		s->info.info |= FILE_PATH_FAULT;
		return 0;
	}
	s->info.path2.len = n;
	if (n >= PATH_CAP)
		s->info.info |= FILE_PATH2_CUT;
	if (e.b->data[base & BLOB_OFF_MASK] != '/')
		return 0;
	s->comp_ops = 0;
	s->unclean = 0;
	__u32 end = n - 1;
	__u32 len = clean_path(s, e.b, e.conf, need, base, 1, end);
	__u32 ops = (e.conf->root_ops | s->comp_ops | trie_ops(e.b, base, len, true)) & need;

	if (s->unclean) {
		ops = need;
		s->info.info |= FILE_UNCLEAN;
	}
	s->unclean = unclean;
	if (len != end) {
		/* cleaning changed the text: the record has it as written */
		n = bpf_probe_read_user_str(&e.b->data[base & BLOB_OFF_MASK], PATH_CAP,
					    (const void *)target);
		s->info.path2.len = n > 0 ? n : 0;
	}
	return ops;
}
