/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Paths, root first, and the decision whether one is watched, made before
 * any ring buffer space is reserved.
 *
 * A kernel path is found in two passes. The first walks from the file's
 * dentry up to the task's root, crossing mount points, and only remembers
 * where each name is: plain loads through BTF pointers, no copies. It also
 * checks each name against the component rules (".ssh"). Then the watch
 * tree judges the names root first ("usr", then "lib" …): most opens are
 * dismissed at the first or second name that no watch lies below, with no
 * path written and no trie lookup. Only a path that is watched is written
 * out, root first. Where the tree cannot tell (a watched name longer than
 * it compares), the path is written as far as the longest watch entry and
 * the LPM trie decides.
 *
 * Argument paths (failed opens, unlink, rename …) are the user's string,
 * made absolute against the kernel's dirfd or cwd path, and go to the trie.
 *
 * Strings go into the shared per-CPU blob at 4-byte aligned offsets, each
 * after a 4-byte slot that holds the LPM key's prefix length, so that the
 * slot and the path together are the trie's key.
 */
#pragma once

#include "blob.bpf.h"
#include "kfuncs.bpf.h"
#include "path.bpf.h"
#include "args.bpf.h"
#include "file.h"

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
	__u32 n;	    /* names collected, leaf first */
	__u32 pos;	    /* bytes of the path written */
	__u32 comp_ops;	    /* ops of the component rules the names matched */
	__u32 unclean;	    /* an argument path has ".." components */
	__u32 at;	    /* read position while an argument path is cleaned */
	__u32 out;	    /* write position while an argument path is cleaned */
	__u32 walked;	    /* how collect's walk ended: enum walk_step */
	__u32 tn;	    /* tree_ops: the node reached */
	__u32 tk;	    /* tree_ops: the names left */
	__u32 tops;	    /* tree_ops: the answer so far */
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

/* Two trees: the loader writes the one not in use, then points
 * filter_conf.tree_slot at it, so that no program sees a tree half written. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct watch_tree);
} trees SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, struct watch_key);
	__type(value, __u32); /* enum watch_op bits */
} watch SEC(".maps");

/* Watched files by identity (file.h): the loader keeps it in step with
 * the watched paths (aliases.go). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, struct file_id);
	__type(value, struct alias);
} aliases SEC(".maps");

/* low_bytes keeps the first n bytes of a little-endian word. */
static __always_inline __u64 low_bytes(__u64 w, __u32 n)
{
	return n >= 8 ? w : w & ((1ULL << (n * 8)) - 1);
}

/* tree_hash is where the child (len, w0) of node parent sits in slot[];
 * config.go has the same function. */
static __always_inline __u32 tree_hash(__u32 parent, __u32 len, __u64 w0)
{
	__u64 h = (w0 ^ ((__u64)len << 56) ^ ((__u64)parent << 40)) * 0x9E3779B97F4A7C15ULL;

	return h >> 55; /* 9 bits: TREE_SLOTS */
}

/* tree_child is the index of the child of node parent named (w, len), or
 * TREE_NODES when there is none. */
static __always_inline __u32 tree_child(const struct watch_tree *t, __u32 parent, __u32 len,
					const __u64 w[4])
{
	__u32 h = tree_hash(parent, len, w[0]);

	for (__u32 i = 0; i < TREE_PROBES; i++) {
		__u32 idx = t->slot[(h + i) & (TREE_SLOTS - 1)];

		if (!idx)
			break;
		__u32 at = (idx - 1) & (TREE_NODES - 1);
		const struct tree_node *c = &t->node[at];

		/* one test, not six: fewer branches to predict, and to verify */
		__u64 diff = (c->parent ^ parent) | (c->len ^ len) | (c->word[0] ^ w[0]) |
			     (c->word[1] ^ w[1]) | (c->word[2] ^ w[2]) | (c->word[3] ^ w[3]);

		if (!diff)
			return at;
	}
	return TREE_NODES;
}

/*
 * comp_ops: the ops of the component rule named (w, len), or 0; a
 * component rule is a child of TREE_ANYWHERE. A global function: the
 * verifier checks it once, and every program shares it.
 */
__noinline __u32 comp_ops(__u32 len, __u64 w0, __u64 w1, __u64 w2, __u64 w3)
{
	__u32 zero = 0;
	const struct filter_conf *conf = bpf_map_lookup_elem(&filter, &zero);

	if (!conf)
		return 0;
	__u32 slot = conf->tree_slot & 1;
	const struct watch_tree *t = bpf_map_lookup_elem(&trees, &slot);

	if (!t)
		return 0;
	__u64 w[4] = { w0, w1, w2, w3 };
	__u32 at = tree_child(t, TREE_ANYWHERE, len, w);

	return at < TREE_NODES ? t->node[at].here : 0;
}

/* comp_maybe: may a name of len bytes starting with first match a
 * component rule watched for need? Two bit tests, before any comparison:
 * a read-only open looks only for the names watched for reads. */
static __always_inline bool comp_maybe(const struct filter_conf *conf, __u32 need, __u32 len,
				       __u8 first)
{
	__u32 i = need == WATCH_READ ? 0 : 1;

	return len < 32 && ((conf->comp_lens[i] >> len) & 1) &&
	       ((conf->comp_first[i][(first >> 6) & 3] >> (first & 63)) & 1);
}

/* name_words loads the first TREE_NAME_BYTES bytes of a kernel name (a
 * dentry's), zero past len. A name shorter than DNAME_INLINE_LEN (40) sits
 * in the dentry, a longer one in an allocation longer than 32 bytes. */
static __always_inline void name_words(const void *name, __u32 len, __u64 w[4])
{
	const __u64 *p = bpf_rdonly_cast(name, 0);

	w[0] = low_bytes(p[0], len);
	w[1] = len > 8 ? low_bytes(p[1], len - 8) : 0;
	w[2] = len > 16 ? low_bytes(p[2], len - 16) : 0;
	w[3] = len > 24 ? low_bytes(p[3], len - 24) : 0;
}

/* kname_ops checks a kernel name against the component rules. */
static __always_inline __u32 kname_ops(const void *name, __u32 len)
{
	__u64 w[4];

	name_words(name, len, w);
	return comp_ops(len, w[0], w[1], w[2], w[3]);
}

enum walk_step {
	WALK_ON,
	WALK_DONE,
	WALK_FULL
};

/* How the file sensor walks (path.bpf.h): typed, in its own loop, up to
 * the task's root, as d_path() does; the top of a tree mounted nowhere
 * ends the walk without its name. */
#define WALK_FLAGS (PATH_TYPED | PATH_TASK_ROOT)

/* walk_step takes one step of a walk towards the root: a mount crossing
 * or one name, recorded at s->names[n]. */
static __always_inline enum walk_step walk_step(struct path_walk *w, struct scratch *s,
						const struct filter_conf *conf, __u32 need,
						const struct path_root *root, __u32 n)
{
	switch (path_step(w, root, WALK_FLAGS)) {
	case PATH_NAME:
		break;
	case PATH_MOUNT:
		return WALK_ON;
	default: /* a root, or no dentry (read as a root) */
		return WALK_DONE;
	}
	if (n >= WALK_MAX_NAMES)
		return WALK_FULL;
	struct dentry *d = w->name;
	const unsigned char *name = d->d_name.name;
	__u32 len = d->d_name.len;

	s->names[n].name = (__u64)name;
	s->names[n].len = len;
	s->n = n + 1;
	if (comp_maybe(conf, need, len, *(const __u8 *)bpf_rdonly_cast(name, 0)))
		s->comp_ops |= kname_ops(name, len);
	return WALK_ON;
}

/* Steps of a walk taken in straight code, before the loop: most paths are
 * shallower, and a loop step costs a kfunc call. Measured: 8 steps take
 * some 17 ns off a 5-name open against none, and double what the verifier
 * checks (the sensor loads in 1.3 s instead of 0.75 s). */
#define WALK_UNROLLED 8

/*
 * collect walks from (d, vm) up to the task's root or the namespace's root
 * mount and records each name, leaf first, checking it against the
 * component rules watched for need. It returns false when the path
 * is deeper than WALK_MAX_NAMES: the names nearest the root are unknown.
 */
static __always_inline bool collect(struct scratch *s, const struct filter_conf *conf, __u32 need,
				    struct dentry *d, struct vfsmount *vm,
				    const struct path_root *root)
{
	struct path_walk w;
	struct bpf_iter_num it;
	enum walk_step st = WALK_ON;

	s->n = 0;
	s->comp_ops = 0;
	s->walked = WALK_ON;
	path_start(&w, d, vm, WALK_FLAGS);
#pragma unroll
	for (int i = 0; i < WALK_UNROLLED; i++) {
		st = walk_step(&w, s, conf, need, root, s->n);
		if (st != WALK_ON) {
			s->walked = st;
			goto out;
		}
	}
	bpf_iter_num_new(&it, 0, WALK_MAX_STEPS - WALK_UNROLLED);
	while (bpf_iter_num_next(&it)) {
		st = walk_step(&w, s, conf, need, root, s->n);
		if (st != WALK_ON) {
			s->walked = st;
			break;
		}
	}
	bpf_iter_num_destroy(&it);
out:
	/* read back from the scratch: every way out is then one state to
	 * the verifier, which checks what follows once, not once per step */
	return s->walked == WALK_DONE;
}

/*
 * write_names writes the collected names root first ("/usr/bin") at
 * blob[base + s->pos], consuming them, until more than limit bytes are
 * written. It returns false when the path does not fit in PATH_CAP.
 */
static __always_inline bool write_names(struct scratch *s, struct blob *b, __u32 base, __u32 limit)
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

#define TREE_ASK (1U << 31) /* tree_ops: ask the trie */

/*
 * tree_ops judges the collected names (s->names, leaf first) root first
 * against the current watch tree, and returns the ops the trie would
 * return for the whole path, or TREE_ASK when the tree cannot tell. It
 * stops at the first name below which nothing watched for need lies.
 *
 * A global function: the verifier checks it once, and its
 * callers see one answer, not one per way out of the loop. The loop's
 * state lives in the scratch (tk: names left, tn: the node reached, tops:
 * the answer so far), unknown to the verifier, so that the loop converges. */
__noinline __u32 tree_ops(__u32 need)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratches, &zero);
	const struct filter_conf *conf = bpf_map_lookup_elem(&filter, &zero);

	if (!s || !conf)
		return TREE_ASK;
	__u32 slot = conf->tree_slot & 1;
	const struct watch_tree *t = bpf_map_lookup_elem(&trees, &slot);

	if (!t || (t->node[0].flags & TREE_ASK_TRIE) || s->n > WALK_MAX_NAMES)
		return TREE_ASK;

	struct bpf_iter_num it;

	s->tk = s->n;
	s->tn = 0;
	s->tops = 0; /* the trie has nothing for "/…" (root_ops aside) */
	bpf_iter_num_new(&it, 0, TREE_DEPTH);
	while (bpf_iter_num_next(&it)) {
		__u32 k = s->tk, cur = s->tn & (TREE_NODES - 1);

		if (k == 0 || k > WALK_MAX_NAMES)
			break;
		const struct tree_node *nd = &t->node[cur];
		const struct name_ref *name = &s->names[(k - 1) & (WALK_MAX_NAMES - 1)];
		__u32 len = name->len;

		if (!((nd->child_lens >> (len < 31 ? len : 31)) & 1))
			break; /* no child that long: the path stays below nd */
		__u64 w[4];

		name_words((const void *)name->name, len, w);
		__u32 at = tree_child(t, cur, len, w);

		if (at >= TREE_NODES)
			break;
		const struct tree_node *c = &t->node[at];

		if (c->flags & TREE_ASK_TRIE) {
			s->tops = TREE_ASK;
			break;
		}
		if (k == 1) { /* the path ends here */
			s->tops = c->here;
			break;
		}
		s->tops = c->below;
		/* deeper entries have this one's ops too (config.go inherits
		 * them): watched already, or nothing more to find. Not
		 * WATCH_FILE, which a deeper directory may not have: go on. */
		if ((c->below & need & ~WATCH_FILE) || !(c->reach & need))
			break;
		s->tn = at;
		s->tk = k - 1;
	}
	bpf_iter_num_destroy(&it);
	return s->tops;
}

/*
 * kernel_path decides whether the file at (dentry, vfsmount) is watched for
 * need and, when it is (or always), writes its path at blob[base]. It
 * returns the ops that matched (0: not watched) and sets *ref and the cut flag.
 */
static __always_inline __u32 kernel_path(struct scratch *s, struct blob *b,
					 const struct filter_conf *conf, __u32 need,
					 struct dentry *d, struct vfsmount *vm,
					 const struct path_root *root, __u32 base,
					 struct str_ref *ref, __u32 cut_flag, bool always)
{
	if (!always && !(conf->all_ops & need))
		return 0; /* nothing anywhere is watched for this access */

	bool whole = collect(s, conf, need, d, vm, root);
	__u32 ops = conf->root_ops | s->comp_ops;

	s->pos = 0;
	if (whole) {
		__u32 t = tree_ops(need);

		if (t & TREE_ASK) {
			bool fits = write_names(s, b, base, conf->max_key);

			t = trie_ops(b, base, s->pos, s->n == 0 && fits);
			if (!fits)
				s->info.info |= cut_flag;
		}
		ops |= t;
		if (!always && !(ops & need))
			return 0;
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
				       const struct filter_conf *conf, __u32 need,
				       struct file *file, const struct path_root *root, __u32 base,
				       struct str_ref *ref, __u32 cut_flag, bool always)
{
	return kernel_path(s, b, conf, need, file->f_path.dentry, file->f_path.mnt, root, base, ref,
			   cut_flag, always);
}

/* next_base is where the string after ref goes: aligned, after a key slot. */
static __always_inline __u32 next_base(const struct str_ref *ref)
{
	return ((ref->off + ref->len + 3) & ~3U) + KEY_SLOT;
}
