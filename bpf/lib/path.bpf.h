/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Paths from the kernel's own dentries, as d_path() would build them, but
 * without bpf_d_path (refused outside iterators on this kernel).
 *
 * There is one walk, path_step(): from a dentry one step towards the root,
 * either up to its parent, passing one name, or across a mount point, from
 * a mount's root to the dentry it is mounted on in the parent mount. Its
 * users differ only in what they do at each step and how they loop, and in
 * the flags they give it (constants at every call, so that the compiler
 * keeps only the code a flag asks for):
 *
 * - PATH_TASK_ROOT: stop at the task's root (a chroot, a container), as
 *   d_path() does, rather than at the root of the mount namespace.
 * - PATH_LOOSE_NAME: a dentry that is its own parent but no mount's root
 *   belongs to no mounted tree: a pseudo file such as a memfd
 *   ("memfd:NAME") or an anonymous inode. With this flag its name is the
 *   walk's last name (all the path such a file has); without, the walk
 *   ends there without it.
 * - PATH_TYPED: read the kernel's objects with plain loads through BTF
 *   pointers instead of one bpf_probe_read_kernel call per field. It needs
 *   the bpf_rdonly_cast kfunc (Linux 6.2), to type a struct mount found by
 *   its offset; PATH_RETYPE also types again every pointer the walk kept,
 *   for a walk whose state lives where the verifier forgets the pointers'
 *   types (a bpf_loop callback's argument).
 *
 * Without PATH_TYPED nothing calls bpf_rdonly_cast: the process and
 * privilege sensors, which use blob_path (bpf_probe_read_kernel, bpf_loop),
 * load on kernels without it (5.19, README.md). The file sensor walks
 * typed, in its own loop (filter.bpf.h); the file guard walks typed in a
 * bpf_loop callback, retyping (fileguard.bpf.c).
 *
 * blob_path appends each name to the blob as a NUL-terminated string, leaf
 * first: "cat\0bin\0usr\0". User space reverses the order. Writing forward
 * keeps every blob offset a plain bounded number.
 */
#pragma once

#include "blob.bpf.h"
#include "kfuncs.bpf.h"

#define PATH_MAX_DEPTH 64 /* blob_path: components plus mount crossings */

enum path_flag {
	PATH_TASK_ROOT = 1 << 0,
	PATH_LOOSE_NAME = 1 << 1,
	PATH_TYPED = 1 << 2,
	PATH_RETYPE = 1 << 3, /* with PATH_TYPED */
};

/* Where a walk is: a dentry, its mount and that mount's root. */
struct path_walk {
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *mnt_root;
	struct dentry *name; /* PATH_NAME, PATH_LAST: the dentry whose name was passed */
};

/* The root a PATH_TASK_ROOT walk stops at: the task's fs->root. */
struct path_root {
	struct dentry *dentry;
	struct vfsmount *mnt;
};

/* What one step did. */
enum path_move {
	PATH_NAME,  /* passed w->name, up to its parent */
	PATH_MOUNT, /* crossed a mount point: no name */
	PATH_LAST,  /* PATH_LOOSE_NAME: w->name is the top of a tree mounted nowhere; the end */
	PATH_END,   /* at a root: of the namespace, of the task, or of a tree mounted nowhere */
	PATH_LOST,  /* no dentry to go on from (not typed) */
};

static __always_inline struct mount *real_mount(struct vfsmount *vfsmnt)
{
	return (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
}

/* path_btf types p as a kernel struct again: its fields are then read with
 * plain (fault-tolerant) loads. */
#define path_btf(p, type) \
	((struct type *)bpf_rdonly_cast((void *)(p), bpf_core_type_id_kernel(struct type)))

/* path_ptr is p, a struct type *, as flags read it. */
#define path_ptr(flags, p, type) ((flags)&PATH_RETYPE ? path_btf(p, type) : (struct type *)(p))

/* path_read reads p->field as flags say: a plain load, or (without
 * PATH_TYPED) bpf_probe_read_kernel. */
#define path_read(flags, p, type, field)                      \
	((flags)&PATH_TYPED ? path_ptr(flags, p, type)->field \
			    : BPF_CORE_READ((struct type *)(p), field))

/* path_start places w at (dentry, vfsmnt). */
static __always_inline void path_start(struct path_walk *w, struct dentry *dentry,
				       struct vfsmount *vfsmnt, const __u32 flags)
{
	w->dentry = dentry;
	w->mnt_root = path_read(flags, vfsmnt, vfsmount, mnt_root);
	/* container_of: a BTF pointer cannot move backwards, a typed walk
	 * types the address anew */
	if (flags & PATH_TYPED)
		w->mnt = path_btf(real_mount(vfsmnt), mount);
	else
		w->mnt = real_mount(vfsmnt);
	w->name = NULL;
}

/*
 * path_step takes one step of the walk towards the root (root: the task's
 * root, read with PATH_TASK_ROOT only). The pointers are copied out of w
 * first: BPF_CORE_READ(w->mnt, …) would relocate w's own type, which the
 * kernel does not know.
 */
static __always_inline enum path_move path_step(struct path_walk *w, const struct path_root *root,
						const __u32 flags)
{
	struct dentry *d = w->dentry;
	struct mount *mnt = w->mnt;

	/* typed, a load through NULL reads 0: a NULL dentry is then its own
	 * parent and ends the walk below, with no test to verify per step */
	if (!(flags & PATH_TYPED) && !d)
		return PATH_LOST;
	if ((flags & PATH_TASK_ROOT) && d == root->dentry &&
	    (struct vfsmount *)((void *)mnt + bpf_core_field_offset(struct mount, mnt)) ==
		    root->mnt)
		return PATH_END;
	if (d == w->mnt_root) {
		struct mount *parent = path_read(flags, mnt, mount, mnt_parent);

		if (parent == mnt) /* the namespace's root mount */
			return PATH_END;
		w->dentry = path_read(flags, mnt, mount, mnt_mountpoint);
		w->mnt = parent;
		w->mnt_root = path_read(flags, parent, mount, mnt.mnt_root);
		return PATH_MOUNT;
	}

	struct dentry *up = path_read(flags, d, dentry, d_parent);

	if (up == d) { /* its own parent, and no mount's root: mounted nowhere */
		if (!(flags & PATH_LOOSE_NAME))
			return PATH_END;
		w->name = d;
		return PATH_LAST;
	}
	w->name = d;
	w->dentry = up;
	return PATH_NAME;
}

/* blob_path's walk: path_step and the blob, for a bpf_loop callback. */
struct path_blob_walk {
	struct path_walk w;
	__u32 used;
	bool done;
	bool cut;
};

/* One step of blob_path; a bpf_loop callback, so it is verified only once. */
static long path_blob_step(__u32 i, void *arg)
{
	struct path_blob_walk *pw = arg;
	enum path_move move = path_step(&pw->w, NULL, PATH_LOOSE_NAME);

	switch (move) {
	case PATH_MOUNT:
		return 0;
	case PATH_END:
		pw->done = true;
		return 1;
	case PATH_LOST:
		pw->cut = true;
		return 1;
	default: /* PATH_NAME, PATH_LAST: a name to write */
		break;
	}

	struct dentry *d = pw->w.name;
	struct blob *b = blob_get();
	struct str_ref name;

	if (!b)
		return 1;
	if (!blob_kstr(b, &pw->used, &name, (const char *)BPF_CORE_READ(d, d_name.name),
		       NAME_MAX_LEN)) {
		pw->cut = true;
		return 1;
	}
	if (move == PATH_LAST) {
		pw->done = true;
		return 1;
	}
	return 0;
}

/*
 * blob_path appends the path of (dentry, vfsmount) to the blob, up to the
 * namespace's root, keeping a loose name (PATH_LOOSE_NAME), with
 * bpf_probe_read_kernel (no bpf_rdonly_cast). It returns false when the
 * path was cut (too deep or out of room).
 */
static __always_inline bool blob_path(__u32 *used, struct str_ref *ref, struct dentry *dentry,
				      struct vfsmount *vfsmnt)
{
	struct path_blob_walk pw = { .used = *used };

	path_start(&pw.w, dentry, vfsmnt, PATH_LOOSE_NAME);
	ref->off = *used;
	bpf_loop(PATH_MAX_DEPTH, path_blob_step, &pw, 0);
	ref->len = pw.used - *used;
	*used = pw.used;
	return pw.done && !pw.cut;
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
