/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Paths given as syscall arguments: the user's string, read at syscall exit,
 * made absolute against the kernel's own path of dirfd or of the cwd. The
 * kernel resolved its own copy of the string and no tracepoint shows the
 * result, so such paths are flagged as arguments: see docs/events.md for
 * what that means (symlinks, and a string changed after the kernel read it).
 */
#pragma once

#include "filter.h"

/* A component of an argument path, from start to i, checked against the
 * component rules and for "", "." and "..", which a trie cannot see through. */
static __always_inline void check_component(struct scratch *s, struct blob *b,
					    const struct filter_conf *conf, __u32 base,
					    __u32 start, __u32 i)
{
	__u32 len = i - start;
	__u32 at = (base + start) & BLOB_OFF_MASK;

	if (len == 0 || len > 255)
		return;
	if (b->data[at] == '.' && (len == 1 || (len == 2 && b->data[(at + 1) & BLOB_OFF_MASK] == '.')))
		s->unclean = 1;
	if (len < 32 && (conf->comp_lens >> len) & 1) {
		__u64 w0 = *(__u64 *)&b->data[at];
		__u64 w1 = *(__u64 *)&b->data[(at + 8) & BLOB_OFF_MASK];

		s->comp_ops |= name_ops(1, low_bytes(w0, len),
					len > 8 ? low_bytes(w1, len - 8) : 0, len);
	}
}

/* scan checks the components of blob[base+from, base+end). */
static __always_inline void scan(struct scratch *s, struct blob *b, const struct filter_conf *conf,
				 __u32 base, __u32 from, __u32 end)
{
	struct bpf_iter_num it;

	s->at = from;
	s->n = from; /* the current component's start */
	bpf_iter_num_new(&it, 0, PATH_CAP);
	while (bpf_iter_num_next(&it)) {
		__u32 i = s->at;

		if (i >= end || i >= PATH_CAP)
			break;
		if (b->data[(base + i) & BLOB_OFF_MASK] == '/') {
			if (i == s->n && i > from)
				s->unclean = 1; /* "//" */
			check_component(s, b, conf, base, s->n, i);
			s->n = i + 1;
		}
		s->at = i + 1;
	}
	bpf_iter_num_destroy(&it);
	__u32 start = s->n;

	if (start < end && end <= PATH_CAP)
		check_component(s, b, conf, base, start, end);
}

/*
 * dir_path writes the kernel's path of dirfd (or of the cwd, for AT_FDCWD)
 * at blob[base] and returns its length, without NUL: 0 for "/", or when
 * dirfd is not open.
 */
static __always_inline __u32 dir_path(struct scratch *s, struct blob *b,
				      const struct filter_conf *conf, struct task_struct *task,
				      int dirfd, const struct root *root, __u32 base)
{
	struct dentry *d;
	struct vfsmount *vm;

	if (dirfd == AT_FDCWD) {
		d = task->fs->pwd.dentry;
		vm = task->fs->pwd.mnt;
	} else {
		struct file *f = fd_file(task, dirfd);

		if (!f)
			return 0;
		d = f->f_path.dentry;
		vm = f->f_path.mnt;
	}
	s->pos = 0;
	collect(s, conf, d, vm, root);
	write_names(s, b, base, PATH_CAP);
	return s->pos;
}

/*
 * arg_path decides whether the path a syscall was given (upath, relative to
 * dirfd) is watched for need and, when it is, leaves it at blob[base] in
 * *ref. An empty upath with a dirfd names dirfd's file itself (AT_EMPTY_PATH):
 * that path is the kernel's. Returns the ops that matched.
 */
static __always_inline __u32 arg_path(struct scratch *s, struct blob *b,
				      const struct filter_conf *conf, struct task_struct *task,
				      __u32 need, int dirfd, const char *upath,
				      const struct root *root, __u32 base, struct str_ref *ref,
				      __u32 arg_flag, __u32 cut_flag)
{
	char first = 0;

	ref->off = base;
	ref->len = 0;
	s->comp_ops = 0;
	if (!upath || bpf_probe_read_user(&first, 1, upath)) {
		s->info.info |= FILE_PATH_FAULT;
		return 0;
	}
	if (first == 0) {
		struct file *f = dirfd == AT_FDCWD ? NULL : fd_file(task, dirfd);

		if (!f)
			return 0;
		/* written even when unwatched: the other path may be */
		return file_path(s, b, conf, need, f, root, base, ref, cut_flag, true);
	}

	__u32 pos = 0;

	if (first != '/') {
		pos = dir_path(s, b, conf, task, dirfd, root, base);
		if (pos > PATH_CAP - 2)
			pos = PATH_CAP - 2;
		b->data[(base + pos) & BLOB_OFF_MASK] = '/';
		pos++;
	}
	__u32 from = pos;
	__u32 room = PATH_CAP - pos;
	/* pos < PATH_CAP: the masks only show the verifier the bounds */
	long n = bpf_probe_read_user_str(&b->data[(base + pos) & BLOB_OFF_MASK],
					 room & BLOB_OFF_MASK, upath);
	if (n <= 0) {
		s->info.info |= FILE_PATH_FAULT;
		return 0;
	}
	if (n >= room)
		s->info.info |= cut_flag;
	pos += n - 1;
	scan(s, b, conf, base, from, pos);

	__u32 ops = conf->root_ops | s->comp_ops | trie_ops(b, base, pos, true);

	s->info.info |= arg_flag;
	ref->len = pos + 1;
	return ops;
}
