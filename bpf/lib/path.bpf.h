/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Paths from the kernel's own dentries, as d_path() would build them, but
 * without bpf_d_path (refused outside iterators on this kernel).
 *
 * The walk goes from the leaf up, crossing mount points to the root of the
 * task's mount namespace, and appends each component to the blob as a
 * NUL-terminated name, leaf first: "cat\0bin\0usr\0". User space reverses the
 * order. Writing forward keeps every blob offset a plain bounded number.
 */
#pragma once

#include "blob.bpf.h"

#define PATH_MAX_DEPTH 64 /* components plus mount crossings */

struct path_walk {
	struct dentry *dentry;
	struct dentry *mnt_root;
	struct mount *mnt;
	__u32 used;
	bool done;
	bool cut;
};

static __always_inline struct mount *real_mount(struct vfsmount *vfsmnt)
{
	return (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
}

/* One step of the walk; a bpf_loop callback, so it is verified only once. */
static long path_walk_step(__u32 i, void *arg)
{
	struct path_walk *w = arg;
	/* copied out first: BPF_CORE_READ(w->mnt, …) would relocate w's own
	 * type, which the kernel does not know */
	struct dentry *d = w->dentry;
	struct mount *mnt = w->mnt;

	if (!d) {
		w->cut = true;
		return 1;
	}
	if (d == w->mnt_root) {
		struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);

		if (parent == mnt) { /* the namespace's root mount */
			w->done = true;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = parent;
		w->mnt_root = BPF_CORE_READ(parent, mnt.mnt_root);
		return 0;
	}

	struct dentry *up = BPF_CORE_READ(d, d_parent);
	struct blob *b = blob_get();
	struct str_ref name;

	if (!b)
		return 1;
	/* A dentry that is its own parent but not a mount's root belongs to
	 * no mounted tree: a pseudo file such as a memfd ("memfd:name") or an
	 * anonymous inode. Its name is all the path it has. */
	if (!blob_kstr(b, &w->used, &name, (const char *)BPF_CORE_READ(d, d_name.name),
		       NAME_MAX_LEN)) {
		w->cut = true;
		return 1;
	}
	if (up == d) {
		w->done = true;
		return 1;
	}
	w->dentry = up;
	return 0;
}

/*
 * blob_path appends the path of (dentry, vfsmount) to the blob. It returns
 * false when the path was cut (too deep or out of room).
 */
static __always_inline bool blob_path(__u32 *used, struct str_ref *ref, struct dentry *dentry,
				      struct vfsmount *vfsmnt)
{
	struct path_walk w = {
		.dentry = dentry,
		.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root),
		.mnt = real_mount(vfsmnt),
		.used = *used,
	};

	ref->off = *used;
	bpf_loop(PATH_MAX_DEPTH, path_walk_step, &w, 0);
	ref->len = w.used - *used;
	*used = w.used;
	return w.done && !w.cut;
}

/* blob_file_path appends the path of an open file. */
static __always_inline bool blob_file_path(__u32 *used, struct str_ref *ref, struct file *file)
{
	return blob_path(used, ref, BPF_CORE_READ(file, f_path.dentry),
			 BPF_CORE_READ(file, f_path.mnt));
}

/* dentry_unlinked: the file has no name in any directory: deleted while
 * still open or mapped, or never linked at all (a memfd), the cases d_path()
 * marks with " (deleted)". For regular files, not for directories (a root
 * dentry is never hashed either). */
static __always_inline bool dentry_unlinked(struct dentry *d)
{
	return !BPF_CORE_READ(d, d_hash.pprev);
}
