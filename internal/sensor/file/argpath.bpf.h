/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Paths given as syscall arguments: the user's string, read at syscall exit,
 * made absolute against the kernel's own path of dirfd or of the cwd. The
 * kernel resolved its own copy of the string and no tracepoint shows the
 * result, so such paths are flagged as arguments: see docs/events.md for
 * what that means (symlinks, and a string changed after the kernel read it).
 */
#pragma once

#include "filter.bpf.h"

/*
 * Argument paths are cleaned lexically before they are matched, as far as
 * that is exact: "." components and repeated or trailing slashes are
 * dropped ("/etc//./shadow" is "/etc/shadow", the file the kernel walks
 * to), since the kernel's walk skips them whatever the components are.
 * ".." is not: "a/link/../b" leads wherever link's target's parent is, so
 * a ".." is kept, and marks the path unclean (s->unclean): a change with
 * an unclean path is reported whatever it looks like (on_change), because
 * a lexical reading of it could be wrong in either direction.
 */

/* end_component ends the component at blob[base + start, base + end) of
 * a path being cleaned: it returns false when the component is "" or "."
 * and must be dropped; otherwise it checks it against the component rules
 * and for "..". */
static __always_inline bool end_component(struct scratch *s, struct blob *b,
					  const struct filter_conf *conf, __u32 need, __u32 base,
					  __u32 start, __u32 end)
{
	__u32 len = end - start;
	__u32 at = (base + start) & BLOB_OFF_MASK;

	if (len == 0 || (len == 1 && b->data[at] == '.'))
		return false;
	if (len > 255)
		return true;
	if (len == 2 && b->data[at] == '.' && b->data[(at + 1) & BLOB_OFF_MASK] == '.')
		s->unclean = 1;
	if (comp_maybe(conf, need, len, b->data[at])) {
		/* at < BLOB_USED_MAX: 32 bytes on stay inside the blob */
		__u64 w0 = *(__u64 *)&b->data[at], w1 = *(__u64 *)&b->data[at + 8];
		__u64 w2 = *(__u64 *)&b->data[at + 16], w3 = *(__u64 *)&b->data[at + 24];

		s->comp_ops |=
			comp_ops(len, low_bytes(w0, len), len > 8 ? low_bytes(w1, len - 8) : 0,
				 len > 16 ? low_bytes(w2, len - 16) : 0,
				 len > 24 ? low_bytes(w3, len - 24) : 0);
	}
	return true;
}

/*
 * clean_path cleans, in place, the path at blob[base, base + end) whose
 * part from from on is still to be cleaned; blob[base + from - 1] is the
 * '/' before it (from >= 1), and the part before it is clean already (the
 * kernel's path of a directory). It returns the cleaned path's length:
 * at least 1 ("/"). Bytes move only backwards (out <= i), so one pass
 * reading at i and writing at out is safe.
 */
static __always_inline __u32 clean_path(struct scratch *s, struct blob *b,
					const struct filter_conf *conf, __u32 need, __u32 base,
					__u32 from, __u32 end)
{
	struct bpf_iter_num it;

	s->at = from;  /* read position */
	s->out = from; /* write position */
	s->n = from;   /* where the component being written starts */
	bpf_iter_num_new(&it, 0, PATH_CAP);
	while (bpf_iter_num_next(&it)) {
		__u32 i = s->at, out = s->out;

		if (i >= end || i >= PATH_CAP || out > i)
			break;
		__u8 c = b->data[(base + i) & BLOB_OFF_MASK];

		s->at = i + 1;
		if (c != '/') {
			b->data[(base + out) & BLOB_OFF_MASK] = c;
			s->out = out + 1;
			continue;
		}
		if (!end_component(s, b, conf, need, base, s->n, out)) {
			s->out = s->n; /* dropped: the next one goes where it was */
			continue;
		}
		b->data[(base + out) & BLOB_OFF_MASK] = '/';
		s->out = out + 1;
		s->n = out + 1;
	}
	bpf_iter_num_destroy(&it);

	__u32 start = s->n, out = s->out;

	if (start > out || out > PATH_CAP)
		return 1;
	if (!end_component(s, b, conf, need, base, start, out))
		out = start - 1; /* drop it and the '/' before it */
	return out ? out : 1;	 /* "/" stays "/" */
}

/*
 * dir_path writes the kernel's path of dirfd (or of the cwd, for AT_FDCWD)
 * at blob[base] and returns its length, without NUL: 0 for "/", or when
 * dirfd is not open.
 */
static __always_inline __u32 dir_path(struct scratch *s, struct blob *b,
				      const struct filter_conf *conf, __u32 need,
				      struct task_struct *task, int dirfd,
				      const struct path_root *root, __u32 base)
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
	collect(s, conf, need, d, vm, root);
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
				      const struct path_root *root, __u32 base, struct str_ref *ref,
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

	__u32 pos = 0, from = 1; /* after the leading '/' of an absolute path */

	if (first != '/') {
		pos = dir_path(s, b, conf, need, task, dirfd, root, base);
		if (pos > PATH_CAP - 2)
			pos = PATH_CAP - 2;
		b->data[(base + pos) & BLOB_OFF_MASK] = '/';
		pos++;
		from = pos;
	}
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
	pos = clean_path(s, b, conf, need, base, from, pos);

	__u32 ops = conf->root_ops | s->comp_ops | trie_ops(b, base, pos, true);

	s->info.info |= arg_flag;
	ref->len = pos + 1;
	return ops;
}
