/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Hidden names made in shared temporary directories: a file, directory or
 * link whose name starts with '.' made directly in a directory of
 * file.Config.HiddenDirs (/tmp, /var/tmp, /dev/shm by default), where
 * droppers and miners keep their work out of a plain `ls` (ATT&CK
 * T1564.001). Such a directory is a "dir\0" key of the watch trie (and a
 * node of the tree) whose ops hold WATCH_HIDDEN; a made name is judged by
 * its first byte and then by its parent, the path up to its last '/'.
 *
 * Only calls that made a name come here, and only once the ordinary
 * decision found nothing watched: a successful open with O_CREAT (open
 * cannot say whether the file was there before), mkdir, and the new name
 * of symlink, link and rename. So an open without O_CREAT pays one test
 * of its flags, an O_CREAT open of a name without a leading dot a few
 * loads of its dentry, and no path is written for either.
 */
#pragma once

#include "decide.bpf.h"

/* The '/' before a path's last name is within NAME_MAX + 1 bytes of its
 * end: the kernel refuses longer names. */
#define HIDDEN_SCAN 256

/*
 * hidden_path: does the record's path (second: path2), written cleaned and
 * NUL-ended, end in a name starting with '.' whose parent directory is
 * watched for WATCH_HIDDEN? It returns WATCH_HIDDEN or 0. A path that was
 * cut lost its last names: it counts as hidden (reported flagged cut, and
 * counted as truncated) rather than let its length hide a name.
 */
__noinline __u32 hidden_path(__u32 second)
{
	struct env e;

	if (!env_get(&e) || !(e.conf->all_ops & WATCH_HIDDEN))
		return 0;
	struct scratch *s = e.s;
	__u32 off = second ? s->info.path2.off : s->info.path.off;
	__u32 len = second ? s->info.path2.len : s->info.path.len;

	if (s->info.info & (second ? FILE_PATH2_CUT : FILE_PATH_CUT))
		return WATCH_HIDDEN;
	if (len < 4 || off < KEY_SLOT) /* "/.x" and its NUL at the least */
		return 0;

	/* look for the last '/' from the end; the position lives in the
	 * scratch (at: one past the byte to test; out: the name's start, 0
	 * until found), unknown to the verifier, so that the loop converges */
	__u32 end = off + len - 1; /* the NUL */
	struct bpf_iter_num it;

	s->at = end;
	s->out = 0;
	bpf_iter_num_new(&it, 0, HIDDEN_SCAN);
	while (bpf_iter_num_next(&it)) {
		__u32 i = s->at;

		if (i <= off)
			break;
		/* the masks only show the verifier what the writers keep:
		 * every path ends below BLOB_USED_MAX */
		if (e.b->data[(i - 1) & BLOB_OFF_MASK] == '/') {
			s->out = i;
			break;
		}
		s->at = i - 1;
	}
	bpf_iter_num_destroy(&it);

	__u32 name = s->out;

	if (name <= off || name >= end || e.b->data[name & BLOB_OFF_MASK] != '.')
		return 0;
	__u32 plen = name - 1 - off; /* the parent's bytes; 0: it is "/" */
	__u32 ops = e.conf->root_ops;

	if (plen) {
		/* trie_ops ends the parent with a NUL where the '/' was */
		ops |= trie_ops(e.b, off, plen, true);
		e.b->data[(off + plen) & BLOB_OFF_MASK] = '/';
	}
	return ops & WATCH_HIDDEN;
}

/* hidden_name: is the file open as fd named with a leading '.', and is a
 * directory watched for WATCH_HIDDEN at all? Read from the dentry, before
 * any path is written. */
__noinline __u32 hidden_name(long fd)
{
	__u32 zero = 0;
	const struct filter_conf *conf = bpf_map_lookup_elem(&filter, &zero);

	if (!conf || !(conf->all_ops & WATCH_HIDDEN))
		return 0;
	struct file *f = fd_file(bpf_get_current_task_btf(), fd);

	if (!f)
		return 0;
	const unsigned char *name = f->f_path.dentry->d_name.name;

	return *(const __u8 *)bpf_rdonly_cast(name, 0) == '.';
}

/* hidden_open: a successful O_CREAT open the filter did not watch; when
 * its file is a hidden name in a hidden dir, the record gets its path and
 * inode, and true. */
static __always_inline bool hidden_open(long fd, __u32 need)
{
	if (!hidden_name(fd))
		return false;
	decide_fd(fd, need, 1, 1);
	return hidden_path(0);
}

/* hidden_change: a successful change the filter did not watch; when it
 * made a hidden name in a hidden dir (mkdir, a symlink's link, the new
 * name of link and rename), WATCH_HIDDEN. */
static __always_inline __u32 hidden_change(enum file_syscall sys)
{
	switch (sys) {
	case SYS_MKDIR:
	case SYS_MKDIRAT:
	case SYS_SYMLINK:
	case SYS_SYMLINKAT:
		return hidden_path(0);
	case SYS_LINK:
	case SYS_LINKAT:
	case SYS_RENAME:
	case SYS_RENAMEAT:
	case SYS_RENAMEAT2:
		return hidden_path(1);
	default:
		return 0;
	}
}
