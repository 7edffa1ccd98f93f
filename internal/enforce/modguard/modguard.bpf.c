//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The module guard: kill a process that calls init_module or
 * finit_module while a policy that blocks module loads governs it.
 *
 * The kill is sent at the call's entry, but a signal is only acted on when
 * the call returns: on a kernel that supports modules the call still runs
 * to its end, and a valid module is loaded before its caller dies. What
 * the kill stops is whatever the caller would have done next. Refusing the
 * load itself takes a BPF LSM program (the LSM tier), which this kernel
 * does not allow. This kernel is built without modules: both calls fail
 * with ENOSYS, and the guard reports the attempt with that outcome.
 *
 * The decision is kept per thread from the entry to the exit, where the
 * record is written with the call's return value.
 *
 * Two ways in. Where the kernel has syscalls/sys_enter_init_module and
 * friends (CONFIG_MODULES), those tracepoints, which only these calls pay
 * for. Where it has not (here), a dispatcher on the raw sys_enter and
 * sys_exit tracepoints that every system call pays for (~80 ns), which is
 * why the agent loads this object only when a policy blocks module loads.
 * The syscall tracepoints never show 32-bit (compat) calls; the dispatcher
 * does, so on x86-64 it is the one that also stops "int $0x80" callers.
 */
#include "common.bpf.h"
#include "enforce.bpf.h"
#include "blob.bpf.h"
#include "path.bpf.h"
#include "kfuncs.bpf.h"
#include "args.bpf.h"
#include "syscall.bpf.h"
#include "module.bpf.h"
#include "modguard.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SIGKILL 9

/* This architecture's numbers of the calls, set by the loader; -1 for none.
 * x32_bit is x86-64's __X32_SYSCALL_BIT, which x32 calls carry. */
const volatile __s64 nr_init_module = -1;
const volatile __s64 nr_finit_module = -1;
const volatile __s64 nr_compat_init_module = -1;
const volatile __s64 nr_compat_finit_module = -1;
const volatile __s64 x32_bit = 0;

/* mod_block[0]: the policies that block (enforce) or report (monitor)
 * module loads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mod_block SEC(".maps");

/* The module files allowlists approve; see struct mod_allow_entry. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MOD_ALLOW_MAX);
	__type(key, struct inode_key);
	__type(value, struct mod_allow_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mod_allow SEC(".maps");

/* pid_tgid → what the entry decided. LRU: an entry whose exit never came
 * (the program was replaced meanwhile) cannot fill the map for good. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MOD_INFLIGHT_MAX);
	__type(key, __u64);
	__type(value, struct mod_call);
} mod_inflight SEC(".maps");

/* where an entry is built: too large for the stack */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mod_call);
} mod_scratch SEC(".maps");

/* The inode's change time in its layouts: i_ctime_sec/i_ctime_nsec
 * (6.11 on), __i_ctime (6.6 to 6.10), i_ctime before. */
struct inode___ctime66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___ctime_old {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

static __always_inline void inode_ctime(struct inode *inode, __s64 *sec, __u32 *nsec)
{
	if (bpf_core_field_exists(inode->i_ctime_sec)) {
		*sec = BPF_CORE_READ(inode, i_ctime_sec);
		/* bit 31 is I_CTIME_QUERIED (multigrain timestamps, 6.13 on),
		 * not part of the time; nanoseconds never reach it */
		*nsec = BPF_CORE_READ(inode, i_ctime_nsec) & ~(1U << 31);
	} else if (bpf_core_field_exists(((struct inode___ctime66 *)inode)->__i_ctime)) {
		struct inode___ctime66 *i = (void *)inode;

		*sec = BPF_CORE_READ(i, __i_ctime.tv_sec);
		*nsec = BPF_CORE_READ(i, __i_ctime.tv_nsec);
	} else {
		struct inode___ctime_old *i = (void *)inode;

		*sec = BPF_CORE_READ(i, i_ctime.tv_sec);
		*nsec = BPF_CORE_READ(i, i_ctime.tv_nsec);
	}
}

/*
 * approved returns the policies whose allowlists approve the file that
 * finit_module's fd names: matched by (s_dev, i_ino), never by name, and
 * only while its size and change time are those user space hashed. The
 * kernel reads the file later in the same call; a write in between (the
 * file is not write-denied before kernel_read_file) is the window only an
 * LSM hook closes.
 */
static __always_inline __u64 approved(long fd, __u32 *info)
{
	struct file *f = fd_file(bpf_get_current_task_btf(), fd);

	if (!f)
		return 0;
	struct inode *inode = f->f_inode;
	struct inode_key k = { .ino = BPF_CORE_READ(inode, i_ino),
			       .dev = BPF_CORE_READ(inode, i_sb, s_dev) };
	struct mod_allow_entry *a = bpf_map_lookup_elem(&mod_allow, &k);

	if (!a)
		return 0;
	__s64 sec = 0;
	__u32 nsec = 0;

	inode_ctime(inode, &sec, &nsec);
	if (a->size != (__u64)BPF_CORE_READ(inode, i_size) || a->ctime_sec != sec ||
	    a->ctime_nsec != nsec) {
		*info |= MOD_ALLOW_CHANGED;
		return 0;
	}
	return a->policies;
}

/*
 * judge decides for the current task. A global function, verified once:
 * inlined, the 64 policy numbers decide() can find multiply the states the
 * verifier walks through the rest of each program.
 */
__noinline int judge(struct enforce_hit *hit, __u64 allowed)
{
	__u32 zero = 0;
	struct verdict *v = bpf_map_lookup_elem(&mod_block, &zero);
	struct enforce_state *cfg = enforce_cfg();
	struct task_struct *task = bpf_get_current_task_btf();

	if (!hit || !v || !cfg || !(v->enforce | v->monitor) || exempt(task->tgid))
		return 0;
	/* the policies whose allowlists approve the file let it load */
	struct verdict w = { .enforce = v->enforce & ~allowed, .monitor = v->monitor & ~allowed };

	if (!decide(&w, task_policies(task, cfg), ENFORCE_KILLED, hit))
		return 0;
	return hit->action;
}

/* enter: a call to sys with its first three arguments. */
static __always_inline int enter(enum mod_syscall sys, __u64 a0, __u64 a1, __u64 a2, __u32 info)
{
	__u32 zero = 0;
	struct mod_call *c = bpf_map_lookup_elem(&mod_scratch, &zero);

	if (!c)
		return 0;
	/* init_module's image is in the caller's memory, where it can change
	 * under any check: no allowlist approves it */
	__u32 seen = 0;
	__u64 allowed = sys == MOD_FINIT_MODULE ? approved(a0, &seen) : 0;
	int action = judge(&c->hit, allowed);

	if (!action)
		return 0;
	if (action == ENFORCE_KILLED)
		bpf_send_signal(SIGKILL);

	c->syscall = sys;
	c->info = info | seen;
	c->len = 0;
	c->fd = -1;
	c->flags = 0;
	c->params[0] = 0;
	c->name[0] = 0;
	if (sys == MOD_INIT_MODULE) { /* (image, len, params) */
		long n = bpf_probe_read_user_str(c->params, sizeof(c->params), (const void *)a2);

		c->len = a1;
		if (n < 0) {
			c->params[0] = 0;
			c->info |= MOD_PARAMS_FAULT;
		} else if (n == sizeof(c->params)) {
			c->info |= MOD_PARAMS_CUT; /* full: it may have gone on */
		}
	} else { /* (fd, params, flags) */
		c->fd = a0;
		c->flags = a2;
	}

	__u64 key = bpf_get_current_pid_tgid();

	if (bpf_map_update_elem(&mod_inflight, &key, c, BPF_ANY))
		count_drop(DROP_MAP_FULL, KIND_ENFORCE_MODULE);
	return 0;
}

/* leave reports the call the thread returns from, if its entry decided. */
static __always_inline int leave(long ret)
{
	__u64 key = bpf_get_current_pid_tgid();
	struct mod_call *c = bpf_map_lookup_elem(&mod_inflight, &key);
	struct blob *b = blob_get();

	if (!c)
		return 0;
	if (!b)
		goto out;

	struct task_struct *task = bpf_get_current_task_btf();
	struct mod_enforce r = {
		.hit = c->hit,
		.ret = ret,
		.len = c->len,
		.fd = c->fd,
		.flags = c->flags,
		.syscall = c->syscall,
		.info = c->info,
	};
	__u32 used = 0;

	if (c->syscall == MOD_FINIT_MODULE) {
		/* the file the descriptor names now, at the exit: the same one
		 * the kernel read unless another thread replaced it meanwhile */
		struct file *f = fd_file(task, c->fd);

		if (!f)
			r.info |= MOD_NO_FILE;
		else if (!blob_file_path(&used, &r.path, f))
			r.info |= MOD_PATH_CUT;
	} else {
		blob_kstr(b, &used, &r.params, c->params, MOD_PARAMS_MAX);
	}
	if (c->name[0])
		blob_kstr(b, &used, &r.name, c->name, MOD_NAME_MAX);
	if (r.info & (MOD_PARAMS_CUT | MOD_PATH_CUT))
		count_drop(DROP_TRUNCATED, KIND_ENFORCE_MODULE);
	fill_header(&r.hdr, KIND_ENFORCE_MODULE, sizeof(r), task);
	emit_with_blob(&r, sizeof(r), b, used, KIND_ENFORCE_MODULE);
out:
	/* deleted last: the entry's memory may be reused once it is */
	bpf_map_delete_elem(&mod_inflight, &key);
	return 0;
}

/* The syscall tracepoints, where the kernel has them. */
SEC("tracepoint") /* syscalls/sys_enter_init_module */
int tp_enter_init_module(struct trace_event_raw_sys_enter *ctx)
{
	return enter(MOD_INIT_MODULE, ctx->args[0], ctx->args[1], ctx->args[2], 0);
}

SEC("tracepoint") /* syscalls/sys_enter_finit_module */
int tp_enter_finit_module(struct trace_event_raw_sys_enter *ctx)
{
	return enter(MOD_FINIT_MODULE, ctx->args[0], ctx->args[1], ctx->args[2], 0);
}

/* both exits: only a thread whose entry decided has an entry to report */
SEC("tracepoint") /* syscalls/sys_exit_init_module and sys_exit_finit_module */
int tp_exit_module(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

/* The dispatcher. */

/* which returns the call nr is, if it is one of ours. */
static __always_inline enum mod_syscall which(long nr, bool *compat)
{
	nr &= ~x32_bit;
	if (nr == nr_init_module || nr == nr_finit_module || nr == nr_compat_init_module ||
	    nr == nr_compat_finit_module) {
		*compat = in_compat_syscall();
		if (*compat)
			return nr == nr_compat_init_module    ? MOD_INIT_MODULE
			       : nr == nr_compat_finit_module ? MOD_FINIT_MODULE
							      : 0;
		return nr == nr_init_module    ? MOD_INIT_MODULE
		       : nr == nr_finit_module ? MOD_FINIT_MODULE
					       : 0;
	}
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(dispatch_enter, struct pt_regs *regs, long id)
{
	bool compat = false;
	enum mod_syscall sys = which(id, &compat);
	__u64 args[6];

	if (!sys)
		return 0;
	syscall_args(regs, compat, args);
	return enter(sys, args[0], args[1], args[2], MOD_DISPATCHED | (compat ? MOD_COMPAT : 0));
}

SEC("tp_btf/sys_exit")
int BPF_PROG(dispatch_exit, struct pt_regs *regs, long ret)
{
	bool compat = false;

	if (!which(syscall_nr(regs), &compat))
		return 0;
	return leave(ret);
}

/* A module was loaded by a call the guard acted on: its name, for the
 * record written at the call's exit. Loaded only where the kernel has
 * the tracepoint. */
SEC("tracepoint/module/module_load")
int on_module_load(struct trace_event_raw_module_load___vigil *ctx)
{
	__u64 key = bpf_get_current_pid_tgid();
	struct mod_call *c = bpf_map_lookup_elem(&mod_inflight, &key);

	if (c)
		module_load_name(ctx, c->name, sizeof(c->name));
	return 0;
}

/* Never created: it anchors the record types in BTF for bpf2go. */
struct mod_wire_types {
	struct mod_enforce record;
	enum mod_syscall syscall;
	enum mod_info info;
	enum record_kind kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mod_wire_types);
} mod_wire_types SEC(".maps");
