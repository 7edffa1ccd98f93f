//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The file sensor: opens, changes to files and memfd_create, one classic
 * tracepoint per system call, at its exit only. The arguments are the
 * task's saved user registers (the syscall path does not change them; only
 * the return value register is written), so no entry program and no map
 * pairs entry with exit: that halves the cost per call. The path of an
 * opened file is the kernel's: the walk of the dentries of the struct file
 * the returned descriptor names.
 */
#include "common.bpf.h"
#include "blob.bpf.h"
#include "file.h"
#include "decide.bpf.h"
#include "hidden.bpf.h"
#include "proclink.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* What one program works with: the task, the record being built and the
 * syscall's arguments, which x86-64 passes in di, si, dx, r10, r8, r9. */
struct call {
	struct task_struct *task;
	struct scratch *s;
	__u64 arg[6];
};

/* begin returns false for calls that are never reported: vigil's own, or
 * outside the cgroup filter. */
static __always_inline bool begin(struct call *c)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0;

	if (agent_tgid && (id >> 32) == agent_tgid)
		return false;
	c->task = bpf_get_current_task_btf();
	if (filter_cgroup_id && !traced(c->task))
		return false;
	c->s = bpf_map_lookup_elem(&scratches, &zero);
	if (!c->s)
		return false;

	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(c->task);

	c->arg[0] = regs->di;
	c->arg[1] = regs->si;
	c->arg[2] = regs->dx;
	c->arg[3] = regs->r10;
	c->arg[4] = regs->r8;
	c->arg[5] = regs->r9;

	struct file_info *e = &c->s->info;

	e->flags = 0;
	e->mode = 0;
	e->uid = (__u32)-1;
	e->gid = (__u32)-1;
	e->info = 0;
	e->ino = 0;
	e->dev = 0;
	e->ino_mode = 0;
	e->xsize = 0;
	e->xflags = 0;
	__builtin_memset(e->xvalue, 0, sizeof(e->xvalue));
	e->path.off = e->path.len = 0;
	e->path2.off = e->path2.len = 0;
	c->s->unclean = 0;
	return true;
}

static __always_inline int emit(struct call *c, enum record_kind kind, enum file_syscall sys,
				long ret)
{
	struct blob *b = blob_get();
	struct file_info *e = &c->s->info;
	__u32 used = e->path.off + e->path.len;

	if (!b)
		return 0;
	if (e->path2.len)
		used = e->path2.off + e->path2.len;
	fill_header(&e->hdr, kind, sizeof(*e), c->task);
	e->ret = ret;
	e->syscall = sys;
	if (e->info & (FILE_PATH_CUT | FILE_PATH2_CUT))
		count_drop(DROP_TRUNCATED, kind);
	emit_with_blob(e, sizeof(*e), b, used, kind);
	return 0;
}

/*
 * open, openat, openat2, creat: the opened file's own path, or for a failed
 * open the path it was given.
 *
 * Why an open is judged here, at exit, from the kernel's struct file, and
 * never skipped earlier on the strength of the path argument: a prefilter
 * on the caller's string (read at sys_enter, or here) could skip only the
 * opens whose string cannot name a watched file, but the string is the
 * caller's memory. A second thread can let us read "/tmp/x" while the
 * kernel copies "/etc/shadow" (getname() runs after sys_enter and before
 * sys_exit: CVE-2021-33505, TestFileOpenRacerCannotSwapThePath), so any
 * skip decided from it is a skip the attacker chooses; and the kernel's own
 * copy is freed (putname) before sys_exit. The only inputs a racer cannot
 * swap are the kernel's: the returned descriptor's struct file and its
 * dentries. An entry program would also add a second tracepoint to every
 * open, which costs more than this whole decision. So the exit side is made
 * cheap instead (filter.bpf.h): the walk only notes where the names are, the
 * watch tree dismisses the path at the first name nothing watched lies
 * below, and nothing is written out for a path that is not watched.
 */
static __always_inline int on_open(struct trace_event_raw_sys_exit *ctx, enum file_syscall sys)
{
	struct call c;

	if (!begin(&c))
		return 0;

	int dirfd = AT_FDCWD;
	__u64 upath = c.arg[1];
	__u32 flags = c.arg[2], mode = c.arg[3];

	switch (sys) {
	case SYS_OPEN:
		upath = c.arg[0];
		flags = c.arg[1];
		mode = c.arg[2];
		break;
	case SYS_CREAT:
		upath = c.arg[0];
		flags = O_CREAT | O_TRUNC | O_WRONLY;
		mode = c.arg[1];
		break;
	case SYS_OPENAT2: {
		/* user memory, read after the kernel did: only flags and mode
		 * come from it, never the path */
		struct open_how how = {};

		bpf_probe_read_user(&how, sizeof(how), (const void *)c.arg[2]);
		dirfd = c.arg[0];
		flags = how.flags;
		mode = how.mode;
		break;
	}
	default:
		dirfd = c.arg[0];
	}

	struct file_info *e = &c.s->info;
	long ret = ctx->ret;
	__u32 need = WATCH_READ;

	e->flags = flags;
	if (flags & (O_CREAT | O_TMPFILE_BIT))
		e->mode = mode & 07777;
	if ((flags & O_ACCMODE) || (flags & (O_CREAT | O_TRUNC)))
		need = WATCH_WRITE;
	if (ret < 0 && (flags & O_CREAT))
		need |= WATCH_FILE; /* a file would have been made */
	__u32 ops = ret >= 0 ? decide_fd(ret, need, 1, 0) : decide_arg(dirfd, upath, need, 0);

	/* not watched, but maybe a hidden name made (hidden.bpf.h) */
	if (!ops && ret >= 0 && (flags & O_CREAT) && hidden_open(ret, need))
		ops = WATCH_HIDDEN;
	/* written through /proc/PID/exe or /proc/PID/fd/N: proclink.bpf.h */
	if (need & WATCH_WRITE)
		ops = proc_link_open(ret, upath, ops);
	if (!ops)
		return 0;
	return emit(&c, KIND_FILE_OPEN, sys, ret);
}

/*
 * on_change: a change names a file by descriptor (fd >= 0), or by a path
 * relative to a dirfd; maybe a second path (rename, link: the new name) or
 * a symlink's target text. It is reported when any of them is watched.
 */
static __always_inline int on_change(struct trace_event_raw_sys_exit *ctx, struct call *c,
				     enum record_kind kind, enum file_syscall sys, __u32 need,
				     long fd, int dirfd, __u64 path, int dirfd2, __u64 path2,
				     __u64 target)
{
	__u32 ops;

	if (fd >= 0) {
		if (!decide_fd(fd, need, 0, 0))
			return 0;
		return emit(c, kind, sys, ctx->ret);
	}
	ops = decide_arg(dirfd, path, need, 0);
	if (path2)
		ops |= decide_arg(dirfd2, path2, need, 1);
	if (target)
		ops |= decide_target(target, need);
	if (!ops && !c->s->unclean && ctx->ret >= 0)
		ops = hidden_change(sys); /* a hidden name made (hidden.bpf.h) */
	/* a path with ".." may lead anywhere (a symlink before it): reported,
	 * not guessed; "." and "//" were cleaned away before matching */
	if (c->s->unclean)
		c->s->info.info |= FILE_UNCLEAN;
	else if (!ops)
		return 0;
	return emit(c, kind, sys, ctx->ret);
}

/* One program per system call, at its exit. */
#define EXIT(name)                                 \
	SEC("tracepoint/syscalls/sys_exit_" #name) \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)

/* a change's need: chmod to a mode with an x bit is also an exec change,
 * one that sets the setuid or setgid bit (with or without an x bit) a
 * setid change */
static __always_inline __u32 chmod_need(__u32 mode)
{
	return WATCH_WRITE | WATCH_FILE | (mode & S_IXUGO ? WATCH_EXEC : 0) |
	       (mode & S_ISID ? WATCH_SETID : 0);
}

EXIT(open)
{
	return on_open(ctx, SYS_OPEN);
}
EXIT(openat)
{
	return on_open(ctx, SYS_OPENAT);
}
EXIT(openat2)
{
	return on_open(ctx, SYS_OPENAT2);
}
EXIT(creat)
{
	return on_open(ctx, SYS_CREAT);
}

/* chown's new owner; (u32)-1 leaves an id unchanged */
static __always_inline void owner(struct call *c, __u64 uid, __u64 gid)
{
	c->s->info.uid = uid;
	c->s->info.gid = gid;
}

/* A change program: begin, note what only this call passes (setup), then
 * decide and emit. A(i) is the i-th argument. */
#define A(i) (c.arg[i])
#define CHANGE(name, kind, sys, need, fd, dirfd, path, dirfd2, path2, target, setup)       \
	EXIT(name)                                                                         \
	{                                                                                  \
		struct call c;                                                             \
                                                                                           \
		if (!begin(&c))                                                            \
			return 0;                                                          \
		setup;                                                                     \
		return on_change(ctx, &c, kind, sys, need, fd, dirfd, path, dirfd2, path2, \
				 target);                                                  \
	}
#define NONE (void)0
#define W (WATCH_WRITE | WATCH_FILE)
#define WD (W | WATCH_DELETE) /* a name goes away */
#define CWD AT_FDCWD

CHANGE(unlink, KIND_FILE_UNLINK, SYS_UNLINK, WD, -1, CWD, A(0), 0, 0, 0, NONE)
CHANGE(rmdir, KIND_FILE_UNLINK, SYS_RMDIR, WD, -1, CWD, A(0), 0, 0, 0, NONE)
CHANGE(unlinkat, KIND_FILE_UNLINK, SYS_UNLINKAT, WD, -1, A(0), A(1), 0, 0, 0,
       c.s->info.flags = A(2))

CHANGE(rename, KIND_FILE_RENAME, SYS_RENAME, WD, -1, CWD, A(0), CWD, A(1), 0, NONE)
CHANGE(renameat, KIND_FILE_RENAME, SYS_RENAMEAT, WD, -1, A(0), A(1), A(2), A(3), 0, NONE)
CHANGE(renameat2, KIND_FILE_RENAME, SYS_RENAMEAT2, WD, -1, A(0), A(1), A(2), A(3), 0,
       c.s->info.flags = A(4))

CHANGE(chmod, KIND_FILE_CHMOD, SYS_CHMOD, chmod_need(A(1)), -1, CWD, A(0), 0, 0, 0,
       c.s->info.mode = A(1) & 07777)
CHANGE(fchmod, KIND_FILE_CHMOD, SYS_FCHMOD, chmod_need(A(1)), A(0), 0, 0, 0, 0, 0,
       c.s->info.mode = A(1) & 07777)
CHANGE(fchmodat, KIND_FILE_CHMOD, SYS_FCHMODAT, chmod_need(A(2)), -1, A(0), A(1), 0, 0, 0,
       c.s->info.mode = A(2) & 07777)
CHANGE(fchmodat2, KIND_FILE_CHMOD, SYS_FCHMODAT2, chmod_need(A(2)), -1, A(0), A(1), 0, 0, 0,
       c.s->info.mode = A(2) & 07777;
       c.s->info.flags = A(3))

CHANGE(chown, KIND_FILE_CHOWN, SYS_CHOWN, W, -1, CWD, A(0), 0, 0, 0, owner(&c, A(1), A(2)))
CHANGE(lchown, KIND_FILE_CHOWN, SYS_LCHOWN, W, -1, CWD, A(0), 0, 0, 0, owner(&c, A(1), A(2)))
CHANGE(fchown, KIND_FILE_CHOWN, SYS_FCHOWN, W, A(0), 0, 0, 0, 0, 0, owner(&c, A(1), A(2)))
CHANGE(fchownat, KIND_FILE_CHOWN, SYS_FCHOWNAT, W, -1, A(0), A(1), 0, 0, 0, owner(&c, A(2), A(3));
       c.s->info.flags = A(4))

CHANGE(link, KIND_FILE_LINK, SYS_LINK, W, -1, CWD, A(0), CWD, A(1), 0, NONE)
CHANGE(linkat, KIND_FILE_LINK, SYS_LINKAT, W, -1, A(0), A(1), A(2), A(3), 0, c.s->info.flags = A(4))
CHANGE(symlink, KIND_FILE_SYMLINK, SYS_SYMLINK, W, -1, CWD, A(1), 0, 0, A(0), NONE)
CHANGE(symlinkat, KIND_FILE_SYMLINK, SYS_SYMLINKAT, W, -1, A(1), A(2), 0, 0, A(0), NONE)

CHANGE(truncate, KIND_FILE_TRUNCATE, SYS_TRUNCATE, W, -1, CWD, A(0), 0, 0, 0, NONE)
CHANGE(ftruncate, KIND_FILE_TRUNCATE, SYS_FTRUNCATE, W, A(0), 0, 0, 0, 0, 0, NONE)

CHANGE(mkdir, KIND_FILE_MKDIR, SYS_MKDIR, W, -1, CWD, A(0), 0, 0, 0, c.s->info.mode = A(1) & 07777)
CHANGE(mkdirat, KIND_FILE_MKDIR, SYS_MKDIRAT, W, -1, A(0), A(1), 0, 0, 0,
       c.s->info.mode = A(2) & 07777)

/* memfd_create: every call, when enabled; no path to filter on. */
EXIT(memfd_create)
{
	struct call c;
	__u32 zero = 0;
	const struct filter_conf *conf = bpf_map_lookup_elem(&filter, &zero);
	struct blob *b = blob_get();

	if (!conf || !conf->memfd || !b || !begin(&c))
		return 0;

	struct file_info *e = &c.s->info;
	long ret = ctx->ret;

	e->flags = c.arg[1];
	e->path.off = KEY_SLOT;
	long n = bpf_probe_read_user_str(&b->data[KEY_SLOT], NAME_MAX_LEN, (const void *)c.arg[0]);
	if (n > 0)
		e->path.len = n;
	else
		e->info |= FILE_PATH_FAULT;
	e->info |= FILE_PATH_ARG;
	if (ret >= 0) {
		struct file *f = fd_file(c.task, ret);

		if (f)
			set_inode(e, f);
	}
	return emit(&c, KIND_MEMFD_CREATE, SYS_MEMFD_CREATE, ret);
}

/*
 * Extended attribute changes: setxattr, lsetxattr, fsetxattr, setxattrat
 * and the removexattr family, on any path, when the attribute's name
 * starts with a configured prefix (security., trusted., system.posix_acl_
 * by default: file capabilities, SELinux/IMA labels, ACLs), so that the
 * user.* chatter of desktops and file managers stays in the kernel. The
 * name is read first, to a place past anything a record uses, and judged
 * before any path is walked; a kept one is copied behind the path.
 */
#define XNAME_SLOT BLOB_USED_MAX /* where the name is read to be judged */
#define XATTR_NAME_CAP 256	 /* XATTR_NAME_MAX and its NUL */

/* xattr_wanted: does the name whose first bytes are w0..w3 start with a
 * configured prefix? A global function: the verifier checks it once. */
__noinline __u32 xattr_wanted(__u64 w0, __u64 w1, __u64 w2, __u64 w3)
{
	__u32 zero = 0;
	const struct filter_conf *conf = bpf_map_lookup_elem(&filter, &zero);

	if (!conf)
		return 0;
	__u32 n = conf->xattr_n, hit = 0;

#pragma unroll
	for (int i = 0; i < XATTR_PREFIXES; i++) {
		/* a name shorter than the prefix differs at its NUL; the bytes
		 * after it may be stale, but are masked off or differ already */
		__u64 diff = ((w0 & conf->xattr_mask[i][0]) ^ conf->xattr_word[i][0]) |
			     ((w1 & conf->xattr_mask[i][1]) ^ conf->xattr_word[i][1]) |
			     ((w2 & conf->xattr_mask[i][2]) ^ conf->xattr_word[i][2]) |
			     ((w3 & conf->xattr_mask[i][3]) ^ conf->xattr_word[i][3]);

		hit |= i < n && !diff;
	}
	return hit;
}

static __always_inline int on_xattr(struct trace_event_raw_sys_exit *ctx, enum file_syscall sys,
				    long fd, int dirfd, __u64 path, __u64 uname, __u64 value,
				    __u64 size, __u32 flags, __u32 atflags, struct call *c)
{
	__u32 zero = 0;
	const struct filter_conf *conf = bpf_map_lookup_elem(&filter, &zero);
	struct blob *b = blob_get();

	if (!conf || !conf->xattr_n || !b)
		return 0;
	__u8 *name = &b->data[XNAME_SLOT];
	long n = bpf_probe_read_user_str(name, XATTR_NAME_CAP, (const void *)uname);

	if (n <= 0)
		return 0;
	/* XNAME_SLOT + 32 < BLOB_SIZE: four words of the name's buffer */
	const __u64 *w = (const __u64 *)name;

	if (!xattr_wanted(w[0], w[1], w[2], w[3]))
		return 0;

	struct file_info *e = &c->s->info;
	__u32 keep = size < XATTR_VALUE_KEPT ? size : XATTR_VALUE_KEPT;

	e->xsize = size;
	e->xflags = flags;
	e->flags = atflags;
	/* the caller's memory, read after the kernel did, as the paths are */
	if (value && keep)
		bpf_probe_read_user(e->xvalue, keep, (const void *)value);
	if (fd >= 0)
		decide_fd(fd, WATCH_WRITE, 0, 1);
	else
		decide_arg(dirfd, path, WATCH_WRITE, 0);

	__u32 base = next_base(&e->path);

	if (n > XATTR_NAME_CAP)
		n = XATTR_NAME_CAP; /* for the verifier: the read stopped there */
	/* base < PATH_CAP + 2 * KEY_SLOT: the name stays below XNAME_SLOT */
	bpf_probe_read_kernel(&b->data[base & BLOB_OFF_MASK], n, name);
	e->path2.off = base;
	e->path2.len = n;
	return emit(c, KIND_FILE_XATTR, sys, ctx->ret);
}

#define XATTR(name, sys, fd, dirfd, path, uname, value, size, flags, at)                       \
	EXIT(name)                                                                             \
	{                                                                                      \
		struct call c;                                                                 \
                                                                                               \
		if (!begin(&c))                                                                \
			return 0;                                                              \
		return on_xattr(ctx, sys, fd, dirfd, path, uname, value, size, flags, at, &c); \
	}

XATTR(setxattr, SYS_SETXATTR, -1, CWD, A(0), A(1), A(2), A(3), A(4), 0)
XATTR(lsetxattr, SYS_LSETXATTR, -1, CWD, A(0), A(1), A(2), A(3), A(4), 0)
XATTR(fsetxattr, SYS_FSETXATTR, A(0), 0, 0, A(1), A(2), A(3), A(4), 0)
XATTR(removexattr, SYS_REMOVEXATTR, -1, CWD, A(0), A(1), 0, 0, 0, 0)
XATTR(lremovexattr, SYS_LREMOVEXATTR, -1, CWD, A(0), A(1), 0, 0, 0, 0)
XATTR(fremovexattr, SYS_FREMOVEXATTR, A(0), 0, 0, A(1), 0, 0, 0, 0)
XATTR(removexattrat, SYS_REMOVEXATTRAT, -1, A(0), A(1), A(3), 0, 0, 0, A(2))

/* setxattrat(dfd, path, at_flags, name, struct xattr_args *, usize): the
 * value, its size and flags are in the caller's xattr_args */
EXIT(setxattrat)
{
	struct call c;
	struct xattr_args args = {};

	if (!begin(&c))
		return 0;
	bpf_probe_read_user(&args, sizeof(args), (const void *)A(4));
	return on_xattr(ctx, SYS_SETXATTRAT, -1, A(0), A(1), A(3), args.value, args.size,
			args.flags, A(2), &c);
}
