//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The file guard: kill a process that opens a protected file.
 *
 * This kernel has no hook that can refuse an open (no BPF LSM, no
 * fmod_ret), so the guard detects and kills: at the exit of every open
 * call it looks at the struct file the returned descriptor names, and when
 * a policy protects that inode (or a directory above it, for subtree
 * entries) against this access it sends SIGKILL. The signal is taken on
 * the way back to user space, so the process never runs another
 * instruction and never reads a byte through the descriptor; but the open
 * itself has happened: O_CREAT has left an empty file behind and O_TRUNC
 * has emptied the file.
 *
 * The decision is made from the kernel's own objects, never from the path
 * the caller passed (which a racing thread can swap after the kernel read
 * it): symlinks, hardlinks, relative paths, "..", bind mounts and renames
 * all end at the same inode.
 */
#include "common.bpf.h"
#include "enforce.bpf.h"
#include "blob.bpf.h"
#include "path.bpf.h"
#include "kfuncs.bpf.h"
#include "args.bpf.h"
#include "syscall.bpf.h"
#include "fileguard.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* include/uapi/asm-generic/fcntl.h and linux/fs.h: #defines, not in BTF */
#define O_WRONLY 00000001
#define O_CREAT 00000100
#define O_TRUNC 00001000
#define FMODE_READ (1U << 0)
#define FMODE_WRITE (1U << 1)
#define FMODE_PATH (1U << 14)
#define FMODE_CREATED (1U << 20)
#define SIGKILL 9

/* Set by the loader: the agent's tgid, whose descriptors the resolver
 * iterator reports. */
const volatile __u32 resolve_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROTECT_MAX_ENTRIES);
	__type(key, struct inode_key);
	__type(value, struct protect_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_protect SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct guard_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_state SEC(".maps");

/* call_flags are the open flags the call passed. openat2 passes them in
 * user memory, read here after the kernel read its own copy: a racing
 * thread can change what the record says, and the one decision that rests
 * on them, O_TRUNC on a descriptor opened read-only (which the struct file
 * does not remember), but nothing the struct file tells. */
static __always_inline __u32 call_flags(struct task_struct *task, enum guard_syscall sys)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 arg[6];

	/* at syscall exit only the return value register has been written,
	 * and on arm64 that is x0, which no case here reads */
	syscall_args(regs, false, arg);
	switch (sys) {
	case GUARD_OPEN:
		return arg[1];
	case GUARD_CREAT:
		return O_CREAT | O_WRONLY | O_TRUNC;
	case GUARD_OPENAT2: {
		struct open_how how = {};

		bpf_probe_read_user(&how, sizeof(how), (const void *)arg[2]);
		return how.flags;
	}
	default: /* openat, open_by_handle_at: the third argument */
		return arg[2];
	}
}

/*
 * The search for the entry that decides. Every entry on the way from the
 * file up to the root can hold policies, so the walk visits them all and
 * keeps the one decide() would pick from their union: the lowest enforcing
 * policy, else the lowest monitoring one. Keeping one entry (not the union)
 * tells the record which entry it was.
 */
struct guard_walk {
	struct path_walk path;
	__u64 mine;	 /* the task's policies that care about this access */
	__u32 access;	 /* GUARD_WRITE | GUARD_READ */
	__u32 depth;	 /* of dentry, 0 for the file */
	__u32 best_rank; /* 0: none yet; 1 + policy enforcing; 65 + policy monitoring */
	__u32 best_depth;
	struct inode_key best_key;
	struct verdict best;
};

static __always_inline __u32 rank(const struct verdict *v, __u64 mine)
{
	if (v->enforce & mine)
		return 1 + lowest_bit(v->enforce & mine);
	if (v->monitor & mine)
		return 1 + ENFORCE_MAX_POLICIES + lowest_bit(v->monitor & mine);
	return 0;
}

/*
 * consider looks (dev, ino) up and keeps its entry if it decides better;
 * leaf says whether this is the opened file (any entry counts) or a
 * directory above it (only subtree entries do).
 *
 * This and the other global functions below are verified once, apart from
 * their callers: inlined, the policy numbers lowest_bit() finds (64 values
 * each) multiply the states the verifier walks through the rest of the
 * program, to half a million instructions per program.
 */
__noinline int consider(struct guard_walk *w, __u64 ino, __u32 dev, __u32 leaf)
{
	struct inode_key key = { .ino = ino, .dev = dev };
	struct protect_entry *e;
	struct verdict v = {};

	if (!w)
		return 0;
	e = bpf_map_lookup_elem(&file_protect, &key);
	if (!e || (!leaf && !(e->flags & PROTECT_SUBTREE)))
		return 0;
	if (w->access & GUARD_WRITE) {
		v.enforce |= e->write.enforce;
		v.monitor |= e->write.monitor;
	}
	if (w->access & GUARD_READ) {
		v.enforce |= e->read.enforce;
		v.monitor |= e->read.monitor;
	}
	__u32 r = rank(&v, w->mine);

	if (r && (!w->best_rank || r < w->best_rank)) {
		w->best_rank = r;
		w->best_depth = w->depth;
		w->best_key = key;
		w->best = v;
	}
	return 0;
}

/* task_care is the policies of the current task among care. */
__noinline __u64 task_care(__u64 care)
{
	struct enforce_state *cfg = enforce_cfg();

	if (!cfg)
		return 0;
	return task_policies(bpf_get_current_task_btf(), cfg) & care;
}

/* judge applies the best entry's verdict, unless the task is exempt. */
__noinline bool judge(struct guard_walk *w, __u32 tgid, struct enforce_hit *hit)
{
	if (!w || !hit || exempt(tgid))
		return false;
	return decide(&w->best, w->mine, ENFORCE_KILLED, hit);
}

/* How the guard walks (path.bpf.h): to the namespace's root, typed, in a
 * bpf_loop callback, whose state the verifier keeps no pointer types for:
 * every pointer the walk kept is typed again before it is read, so that
 * fields are read with plain (fault-tolerant) loads instead of a
 * bpf_probe_read_kernel call each: on a deep path that halves the walk. */
#define GUARD_WALK_FLAGS (PATH_TYPED | PATH_RETYPE)

/* One directory up, or across a mount point to the dentry the mount is
 * mounted on in the parent mount; a bpf_loop callback, so it is verified
 * only once. */
static long walk_step(__u32 i, void *arg)
{
	struct guard_walk *w = arg;

	switch (path_step(&w->path, NULL, GUARD_WALK_FLAGS)) {
	case PATH_NAME:
	case PATH_MOUNT:
		break;
	default: /* the namespace's root (searched already), or the top of a
		  * tree that is mounted nowhere */
		return 1;
	}
	w->depth++;

	struct inode *inode = path_btf(w->path.dentry, dentry)->d_inode;

	if (inode)
		consider(w, inode->i_ino, inode->i_sb->s_dev, 0);
	/* policy 0 enforcing cannot be beaten: stop */
	return w->best_rank == 1;
}

/* access is what the open does to the file, as GUARD_* bits. */
static __always_inline __u32 access_of(__u32 f_mode, __u32 flags)
{
	__u32 a = 0;

	if (f_mode & FMODE_PATH) /* O_PATH: neither reads nor writes */
		return 0;
	/* a file this open created, or one it truncated (O_TRUNC works on a
	 * read-only descriptor too), was written even when f_mode says not */
	if ((f_mode & (FMODE_WRITE | FMODE_CREATED)) || (flags & O_TRUNC))
		a |= GUARD_WRITE;
	if (f_mode & FMODE_READ)
		a |= GUARD_READ;
	return a;
}

static __always_inline int on_open(long ret, enum guard_syscall sys)
{
	__u32 zero = 0;
	struct guard_state *st = bpf_map_lookup_elem(&file_state, &zero);

	if (ret < 0 || !st || !st->entries)
		return 0;

	struct task_struct *task = bpf_get_current_task_btf();
	struct file *f = fd_file(task, ret);

	if (!f)
		return 0;
	__u32 f_mode = f->f_mode;
	__u32 flags = 0;
	bool have_flags = false;

	/* the call's flags only matter for O_TRUNC on a descriptor that is
	 * not for writing: read them (from registers, or user memory for
	 * openat2) only then, and for the record */
	if (!(f_mode & (FMODE_WRITE | FMODE_CREATED | FMODE_PATH))) {
		flags = call_flags(task, sys);
		have_flags = true;
	}
	__u32 access = access_of(f_mode, flags);
	__u64 care = (access & GUARD_WRITE ? st->write_policies : 0) |
		     (access & GUARD_READ ? st->read_policies : 0);

	if (!care)
		return 0;
	__u64 mine = task_care(care);

	if (!mine)
		return 0;

	struct inode *inode = f->f_inode;
	struct vfsmount *vfsmnt = f->f_path.mnt;
	struct inode_key key = { .ino = inode->i_ino, .dev = inode->i_sb->s_dev };
	struct guard_walk w = {
		.mine = mine,
		.access = access,
	};

	path_start(&w.path, f->f_path.dentry, vfsmnt, GUARD_WALK_FLAGS);
	consider(&w, key.ino, key.dev, 1);
	if (st->subtrees && w.best_rank != 1)
		bpf_loop(GUARD_WALK_MAX, walk_step, &w, 0);
	if (!w.best_rank)
		return 0;

	struct enforce_hit hit = {};

	if (!judge(&w, task->tgid, &hit))
		return 0;
	if (hit.action == ENFORCE_KILLED)
		bpf_send_signal(SIGKILL);
	if (!have_flags)
		flags = call_flags(task, sys);

	struct file_enforce r = {
		.hit = hit,
		.fd = ret,
		.ino = key.ino,
		.dev = key.dev,
		.match_ino = w.best_key.ino,
		.match_dev = w.best_key.dev,
		.f_flags = f->f_flags,
		.call_flags = flags,
		.f_mode = f_mode,
		.ino_mode = inode->i_mode,
		.syscall = sys,
		.depth = w.best_depth,
		.info = access,
	};
	struct blob *b = blob_get();
	__u32 used = 0;

	if (!b)
		return 0;
	if (!blob_file_path(&used, &r.path, f)) {
		r.info |= GUARD_PATH_CUT;
		count_drop(DROP_TRUNCATED, KIND_ENFORCE_FILE);
	}
	fill_header(&r.hdr, KIND_ENFORCE_FILE, sizeof(r), task);
	emit_with_blob(&r, sizeof(r), b, used, KIND_ENFORCE_FILE);
	return 0;
}

#define EXIT(name, sys)                                        \
	SEC("tracepoint/syscalls/sys_exit_" #name)             \
	int guard_##name(struct trace_event_raw_sys_exit *ctx) \
	{                                                      \
		return on_open(ctx->ret, sys);                 \
	}

EXIT(open, GUARD_OPEN)
EXIT(openat, GUARD_OPENAT)
EXIT(openat2, GUARD_OPENAT2)
EXIT(creat, GUARD_CREAT)
EXIT(open_by_handle_at, GUARD_OPEN_BY_HANDLE_AT)

/*
 * The resolver: the (dev, ino) of each descriptor the agent holds, as the
 * programs above will see them. stat() can differ from the kernel's own
 * inode (btrfs subvolumes report a device of their own; overlayfs may
 * report the lower file's), so the agent opens the paths it is told to
 * protect (O_PATH) and asks the kernel.
 */
SEC("iter/task_file")
int resolve_fds(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *f = ctx->file;

	if (!task || !f || task->tgid != resolve_tgid)
		return 0;

	struct inode *inode = f->f_inode;
	struct resolved_fd out = {
		.fd = ctx->fd,
		.ino = inode->i_ino,
		.dev = inode->i_sb->s_dev,
		.mode = inode->i_mode,
	};

	bpf_seq_write(ctx->meta->seq, &out, sizeof(out));
	return 0;
}

/* Never created: it anchors the record types in BTF for bpf2go. */
struct guard_wire_types {
	struct file_enforce record;
	struct resolved_fd resolved;
	enum guard_syscall syscall;
	enum guard_info info;
	enum protect_flag flag;
	enum record_kind kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct guard_wire_types);
} guard_wire_types SEC(".maps");
