/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Paths, root first, and the decision whether one is watched, made before
 * any ring buffer space is reserved.
 *
 * A kernel path is found in two passes. The first walks from the file's
 * dentry up to the task's root, crossing mount points, and only remembers
 * where each name is: plain loads through BTF pointers, no copies. It also
 * checks each name against the component rules (".ssh"), and the top-level
 * name against the names that have any watch below them: most opens (of
 * /usr/lib, /proc, /sys …) end here. Only a path that may be watched is
 * written out, root first, and only as far as the longest watch entry,
 * before the LPM trie decides; the rest is written for paths that are
 * emitted.
 *
 * Argument paths (failed opens, unlink, rename …) are the user's string,
 * made absolute against the kernel's dirfd or cwd path.
 *
 * Strings go into the shared per-CPU blob at 4-byte aligned offsets, each
 * after a 4-byte slot that holds the LPM key's prefix length, so that the
 * slot and the path together are the trie's key.
 */
#pragma once

#include "blob.h"
#include "file.h"

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

#define AT_FDCWD -100
#define KEY_SLOT 4 /* the prefix length before each string */

/* Where the walk found a name; names are read only when needed. */
struct name_ref {
	__u64 name;
	__u32 len;
	__u32 pad;
};

/* Per-CPU state of one decision. Counters live here, not in registers, so
 * that the verifier sees them as unknown and the loops converge. */
struct scratch {
	struct file_info info;
	__u32 n;        /* names collected, leaf first */
	__u32 pos;      /* bytes of the path written */
	__u32 comp_ops; /* ops of the component rules the names matched */
	__u32 unclean;  /* an argument path has "." or ".." components */
	__u32 at;       /* scan position in an argument path */
	struct str_ref ref; /* the string a decision wrote */
	struct name_ref names[WALK_MAX_NAMES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct filter_conf);
} filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct watch_key);
	__type(value, __u32); /* enum watch_op bits */
} watch SEC(".maps");

/* The path a walk stops at: the task's root, as d_path() does. */
struct root {
	struct dentry *dentry;
	struct vfsmount *mnt;
};

static __always_inline struct mount *real_mount_of(struct vfsmount *vfsmnt)
{
	return bpf_rdonly_cast((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt),
			       bpf_core_type_id_kernel(struct mount));
}

/*
 * fd_file is the file open as fd in task's table, or NULL. No reference is
 * taken: it is only read, at the exit of a syscall of the same task.
 */
static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file *f = NULL;

	if (fd < 0 || fd >= fdt->max_fds)
		return NULL;
	f = fdt->fd[fd];
	if (!f)
		return NULL;
	return bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
}

/* low_bytes keeps the first n bytes of a little-endian word. */
static __always_inline __u64 low_bytes(__u64 w, __u32 n)
{
	return n >= 8 ? w : w & ((1ULL << (n * 8)) - 1);
}

/*
 * rule_ops is the union of the ops of the rules (of max) that name
 * (w0, w1), a name's first NAME_RULE_BYTES bytes, zero-padded, of length len. A longer name
 * matches a rule with the same length and first bytes: a superset, which
 * the trie then settles.
 */
static __always_inline __u32 rule_ops(const struct name_rule *rules, int max, __u32 count,
				      __u64 w0, __u64 w1, __u32 len)
{
	__u32 ops = 0;

#pragma unroll
	for (int i = 0; i < max; i++) {
		if (i < count && rules[i].len == len && rules[i].word[0] == w0 &&
		    rules[i].word[1] == w1)
			ops |= rules[i].ops;
	}
	return ops;
}

__u32 name_ops(__u32 comp, __u64 w0, __u64 w1, __u32 len);

/* kname_ops checks a kernel name (a dentry's) against the component rules
 * (comp) or the top-level names. Names shorter than DNAME_INLINE_LEN sit
 * inside the dentry, so the 16-byte read stays in it; longer ones cannot
 * match a component by length, and a top-level name compares its first
 * bytes and length only. */
static __always_inline __u32 kname_ops(__u32 comp, const void *name, __u32 len)
{
	const __u64 *w = bpf_rdonly_cast(name, 0);

	return name_ops(comp, low_bytes(w[0], len), len > 8 ? low_bytes(w[1], len - 8) : 0, len);
}

/*
 * collect walks from (d, vm) up to the task's root or the namespace's root
 * mount and records each name, leaf first. It returns false when the path
 * is deeper than WALK_MAX_NAMES: the names nearest the root are unknown.
 */
static __always_inline bool collect(struct scratch *s, const struct filter_conf *conf,
				    struct dentry *d, struct vfsmount *vm, const struct root *root)
{
	struct dentry *mnt_root = vm->mnt_root;
	struct mount *mnt = real_mount_of(vm);
	struct bpf_iter_num it;
	bool done = false;

	s->n = 0;
	s->comp_ops = 0;
	bpf_iter_num_new(&it, 0, WALK_MAX_STEPS);
	while (bpf_iter_num_next(&it)) {
		if (d == root->dentry && &mnt->mnt == root->mnt) {
			done = true;
			break;
		}
		if (d == mnt_root) {
			struct mount *parent = mnt->mnt_parent;

			if (parent == mnt) { /* the namespace's root mount */
				done = true;
				break;
			}
			d = mnt->mnt_mountpoint;
			mnt = parent;
			mnt_root = parent->mnt.mnt_root;
			continue;
		}
		struct dentry *up = d->d_parent;

		if (up == d) { /* the root of a filesystem that is not mounted */
			done = true;
			break;
		}
		__u32 n = s->n;
		if (n >= WALK_MAX_NAMES)
			break;
		const unsigned char *name = d->d_name.name;
		__u32 len = d->d_name.len;

		s->names[n].name = (__u64)name;
		s->names[n].len = len;
		s->n = n + 1;
		if (len < 32 && (conf->comp_lens >> len) & 1)
			s->comp_ops |= kname_ops(1, name, len);
		d = up;
	}
	bpf_iter_num_destroy(&it);
	return done;
}

/* top_ops: the ops watched below the collected path's top-level name. */
static __always_inline __u32 top_ops(struct scratch *s)
{
	__u32 n = s->n;

	if (n == 0 || n > WALK_MAX_NAMES)
		return 0;
	struct name_ref *top = &s->names[(n - 1) & (WALK_MAX_NAMES - 1)];

	return kname_ops(0, (const void *)top->name, top->len);
}

/*
 * write_names writes the collected names root first ("/usr/bin") at
 * blob[base + s->pos], consuming them, until more than limit bytes are
 * written. It returns false when the path does not fit in PATH_CAP.
 */
static __always_inline bool write_names(struct scratch *s, struct blob *b, __u32 base,
					__u32 limit)
{
	struct bpf_iter_num it;
	bool fits = true;

	bpf_iter_num_new(&it, 0, WALK_MAX_NAMES);
	while (bpf_iter_num_next(&it)) {
		__u32 n = s->n, pos = s->pos;

		if (n == 0 || n > WALK_MAX_NAMES || pos > limit)
			break;
		n--;
		__u32 len = s->names[n].len;

		if (len > 255 || pos + len + 2 > PATH_CAP) {
			fits = false;
			break;
		}
		/* base + pos < BLOB_USED_MAX: the masks only show it to the verifier */
		b->data[(base + pos) & BLOB_OFF_MASK] = '/';
		bpf_probe_read_kernel(&b->data[(base + pos + 1) & BLOB_OFF_MASK], len,
				      (const void *)s->names[n].name);
		s->pos = pos + 1 + len;
		s->n = n;
	}
	bpf_iter_num_destroy(&it);
	return fits;
}

/* terminate ends the path at blob[base] with a NUL ("/" when empty) and
 * returns its length, NUL included. */
static __always_inline __u32 terminate(struct scratch *s, struct blob *b, __u32 base)
{
	__u32 pos = s->pos;

	if (pos == 0) {
		b->data[base & BLOB_OFF_MASK] = '/';
		pos = 1;
	}
	if (pos >= PATH_CAP)
		pos = PATH_CAP - 1;
	b->data[(base + pos) & BLOB_OFF_MASK] = 0;
	s->pos = pos;
	return pos + 1;
}

/*
 * trie_ops looks the path at blob[base] (pos bytes, complete or not) up in
 * the watch trie. A complete path is compared with its NUL, so that file
 * entries ("…/shadow\0") match only where the path ends.
 */
static __always_inline __u32 trie_ops(struct blob *b, __u32 base, __u32 pos, bool complete)
{
	__u32 bytes = pos;

	if (complete) {
		b->data[(base + pos) & BLOB_OFF_MASK] = 0;
		bytes++;
	}
	if (bytes > WATCH_KEY_DATA)
		bytes = WATCH_KEY_DATA;
	/* base >= KEY_SLOT and 4-byte aligned: the slot before the string */
	__u32 slot = (base - KEY_SLOT) & BLOB_OFF_MASK;

	*(__u32 *)&b->data[slot] = bytes * 8;
	__u32 *ops = bpf_map_lookup_elem(&watch, &b->data[slot]);
	return ops ? *ops : 0;
}

/*
 * kernel_path decides whether the file at (dentry, vfsmount) is watched for
 * need and, when it is (or always), writes its path at blob[base]. It
 * returns the ops that matched (0: not watched) and sets *ref and the cut flag.
 */
static __always_inline __u32 kernel_path(struct scratch *s, struct blob *b,
					 const struct filter_conf *conf, __u32 need,
					 struct dentry *d, struct vfsmount *vm,
					 const struct root *root, __u32 base, struct str_ref *ref,
					 __u32 cut_flag, bool always)
{
	bool whole = collect(s, conf, d, vm, root);
	__u32 ops = conf->root_ops | s->comp_ops;

	s->pos = 0;
	if (whole) {
		if (!always && !(ops & need) && !(top_ops(s) & need))
			return 0;
		bool fits = write_names(s, b, base, conf->max_key);

		ops |= trie_ops(b, base, s->pos, s->n == 0 && fits);
		if (!always && !(ops & need))
			return 0;
		if (!fits)
			s->info.info |= cut_flag;
	} else {
		/* too deep to know the top: report it, flagged, rather than
		 * let depth hide a path */
		ops = need;
		s->info.info |= cut_flag;
	}
	if (!write_names(s, b, base, PATH_CAP))
		s->info.info |= cut_flag;
	ref->off = base;
	ref->len = terminate(s, b, base);
	return ops;
}

/* file_path: kernel_path for an open file. */
static __always_inline __u32 file_path(struct scratch *s, struct blob *b,
				       const struct filter_conf *conf, __u32 need, struct file *file,
				       const struct root *root, __u32 base, struct str_ref *ref,
				       __u32 cut_flag, bool always)
{
	return kernel_path(s, b, conf, need, file->f_path.dentry, file->f_path.mnt, root, base, ref,
			   cut_flag, always);
}

/* next_base is where the string after ref goes: aligned, after a key slot. */
static __always_inline __u32 next_base(const struct str_ref *ref)
{
	return ((ref->off + ref->len + 3) & ~3U) + KEY_SLOT;
}
