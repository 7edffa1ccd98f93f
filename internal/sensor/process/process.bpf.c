//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The process sensor: exec, exit, fork, renames and the signals that end
 * or stop another process, from BTF-typed tracepoints (tp_btf), so
 * neither kprobes nor tracefs are needed.
 */
#include "common.bpf.h"
#include "blob.bpf.h"
#include "path.bpf.h"
#include "task.bpf.h"
#include "process.h"
#include "env.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* SIGNAL_GROUP_EXIT from include/linux/sched/signal.h: a #define, so not in BTF */
#define SIGNAL_GROUP_EXIT 0x00000004

/* The fixed part is built here, not on the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_info);
} exec_infos SEC(".maps");

static __always_inline void read_args(struct blob *b, __u32 *used, struct exec_info *e,
				      struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	unsigned long start = BPF_CORE_READ(mm, arg_start);
	unsigned long end = BPF_CORE_READ(mm, arg_end);
	__u64 len = end > start ? end - start : 0;

	if (len > ARGS_MAX) {
		len = ARGS_MAX;
		e->flags |= EXEC_ARGS_CUT;
	}
	long n = blob_user(b, used, &e->args, (const void *)start, len);
	if (n < 0)
		e->flags |= EXEC_ARGS_FAULT;
	else if (n < len)
		e->flags |= EXEC_ARGS_CUT;
}

static __always_inline void read_file(struct exec_info *e, struct file *file)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);

	e->ino = BPF_CORE_READ(inode, i_ino);
	e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	e->mode = BPF_CORE_READ(inode, i_mode);
	e->size = BPF_CORE_READ(inode, i_size);
	/* i_mtime became i_mtime_sec/_nsec in 6.7 */
	if (bpf_core_field_exists(inode->i_mtime_sec)) {
		e->mtime_sec = BPF_CORE_READ(inode, i_mtime_sec);
		e->mtime_nsec = BPF_CORE_READ(inode, i_mtime_nsec);
	}
}

/*
 * count_cuts counts an exec whose strings were cut. Not inlined, like
 * fill_fork below: its parameter is what puts enum exec_flag into BTF, where
 * bpf2go finds it (exec_info holds the flags as a plain __u32).
 */
static __noinline void count_cuts(enum exec_flag flags)
{
	if (flags & (EXEC_ARGS_CUT | EXEC_BINARY_CUT | EXEC_FILENAME_CUT | EXEC_CWD_CUT |
		     EXEC_CGROUP_CUT | EXEC_ENV_CUT | EXEC_ENV_UNSCANNED))
		count_drop(DROP_TRUNCATED, KIND_PROCESS_EXEC);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0;
	struct exec_info *e = bpf_map_lookup_elem(&exec_infos, &zero);
	struct blob *b = blob_get();
	__u32 used = 0;

	if (!e || !b || !traced(task))
		return 0;

	fill_header(&e->hdr, KIND_PROCESS_EXEC, sizeof(*e), task);
	e->flags = 0;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->start_time = BPF_CORE_READ(task, start_boottime);
	e->argc = BPF_CORE_READ(bprm, argc);
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), task->comm);

	struct task_ids ids;
	read_task_ids(task, &ids);
	e->uid = ids.uid;
	e->euid = ids.euid;
	e->gid = ids.gid;
	e->egid = ids.egid;
	e->auid = ids.auid;

	struct task_ns ns;
	read_task_ns(task, &ns);
	e->pid_ns = ns.pid;
	e->mnt_ns = ns.mnt;
	e->net_ns = ns.net;
	/* after exec: de_thread made this task the group leader, so its pid
	 * is its tgid, in every namespace */
	e->vpid = ns.vpid;
	e->pad = 0;

	/* exec has committed the new image's credentials (begin_new_exec)
	 * before this tracepoint: these are the sets the program runs with */
	read_task_caps(task, e->caps);

	struct file *file = BPF_CORE_READ(bprm, file);
	read_file(e, file);

	/* Strings, most telling first, so that what is cut when room runs
	 * out is the least useful. */
	if (!blob_file_path(&used, &e->binary, file))
		e->flags |= EXEC_BINARY_CUT;
	if (dentry_unlinked(BPF_CORE_READ(file, f_path.dentry)))
		e->flags |= EXEC_BINARY_DELETED;

	const char *filename = BPF_CORE_READ(bprm, filename);

	if (!blob_kstr(b, &used, &e->filename, filename, NAME_MAX_LEN * 4))
		e->flags |= EXEC_FILENAME_CUT;
	/* binfmt_script and binfmt_misc point interp at the interpreter; for a
	 * plain binary it is the filename itself */
	if (BPF_CORE_READ(bprm, interp) != filename)
		e->flags |= EXEC_INTERPRETED;
	/* before argv, which a caller can fill to push anything after it out;
	 * the watched variables are few and bounded */
	e->flags |= read_env(&used, e, task);

	read_args(b, &used, e, task);

	if (!blob_path(&used, &e->cwd, BPF_CORE_READ(task, fs, pwd.dentry),
		       BPF_CORE_READ(task, fs, pwd.mnt)))
		e->flags |= EXEC_CWD_CUT;
	if (!blob_cgroup_path(&used, &e->cgroup, task))
		e->flags |= EXEC_CGROUP_CUT;
	blob_tty(b, &used, &e->tty, task);

	count_cuts(e->flags);

	emit_with_blob(e, sizeof(*e), b, used, KIND_PROCESS_EXEC);
	return 0;
}

/* Not inlined so that fork_info gets into BTF, where bpf2go finds it. */
static __noinline void fill_fork(struct fork_info *f, struct task_struct *child)
{
	fill_header(&f->hdr, KIND_PROCESS_FORK, sizeof(*f), child);
	f->ppid = BPF_CORE_READ(child, real_parent, tgid);
	f->pad = 0;
	f->start_time = BPF_CORE_READ(child, start_boottime);
	bpf_probe_read_kernel_str(f->comm, sizeof(f->comm), child->comm);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	/* threads share their process's identity: only new processes count */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid) || !traced(child))
		return 0;

	struct fork_info *f = reserve_fixed(sizeof(*f), KIND_PROCESS_FORK);
	if (!f)
		return 0;
	fill_fork(f, child);
	submit_fixed(f, sizeof(*f));
	return 0;
}

/* Not inlined, like fill_fork, for exit_info's BTF. */
static __noinline void fill_exit(struct exit_info *x, struct task_struct *task)
{
	struct signal_struct *sig = BPF_CORE_READ(task, signal);

	fill_header(&x->hdr, KIND_PROCESS_EXIT, sizeof(*x), task);
	if (BPF_CORE_READ(sig, flags) & SIGNAL_GROUP_EXIT)
		x->code = BPF_CORE_READ(sig, group_exit_code);
	else
		x->code = BPF_CORE_READ(task, exit_code);
	x->pad = 0;
	x->start_time = BPF_CORE_READ(task, group_leader, start_boottime);
}

/* A process whose exit is reported, by (tgid, start time): pids are reused,
 * the pair is not. Duplicates come microseconds apart, so an LRU this size
 * outlives them by far. */
struct exit_key {
	__u32 tgid;
	__u32 pad;
	__u64 start;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct exit_key);
	__type(value, __u8);
} exits_claimed SEC(".maps");

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	/* the process ends with its last thread: signal->live has already
	 * been decremented when this tracepoint fires */
	if (BPF_CORE_READ(task, signal, live.counter) != 0 || !traced(task))
		return 0;
	/* exit_group ends the threads on several CPUs at once, and more than
	 * one of them can find live at 0 here: the first to claim the process
	 * reports it */
	struct exit_key key = {
		.tgid = BPF_CORE_READ(task, tgid),
		.start = BPF_CORE_READ(task, group_leader, start_boottime),
	};
	__u8 one = 1;

	/* -17 is -EEXIST: claimed already. (An LRU map evicts rather than
	 * fail for room, so no other error is expected; one would report.) */
	if (bpf_map_update_elem(&exits_claimed, &key, &one, BPF_NOEXIST) == -17)
		return 0;

	struct exit_info *x = reserve_fixed(sizeof(*x), KIND_PROCESS_EXIT);
	if (!x)
		return 0;
	fill_exit(x, task);
	submit_fixed(x, sizeof(*x));
	return 0;
}

/* Not inlined, like fill_fork, for rename_info's BTF. */
static __noinline void fill_rename(struct rename_info *r, struct task_struct *task,
				   const char *comm)
{
	fill_header(&r->hdr, KIND_PROCESS_RENAME, sizeof(*r), task);
	bpf_probe_read_kernel_str(r->old_comm, sizeof(r->old_comm), task->comm);
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), comm);
}

/* __set_task_comm: the tracepoint fires before the copy, so task->comm is
 * still the old name. Exec renames too; the exec record has that name. */
SEC("tp_btf/task_rename")
int BPF_PROG(handle_rename, struct task_struct *task, const char *comm)
{
	/* a thread's own name (worker threads) is not the process's */
	if (BPF_CORE_READ(task, pid) != BPF_CORE_READ(task, tgid) ||
	    BPF_CORE_READ_BITFIELD_PROBED(task, in_execve) || !traced(task))
		return 0;

	struct rename_info *r = reserve_fixed(sizeof(*r), KIND_PROCESS_RENAME);
	if (!r)
		return 0;
	fill_rename(r, task, comm);
	/* prctl with the name it already has changes nothing */
	for (int i = 0; i < COMM_LEN; i++) {
		if (r->old_comm[i] != r->comm[i])
			break;
		if (!r->comm[i] || i == COMM_LEN - 1) {
			bpf_ringbuf_discard(r, 0);
			return 0;
		}
	}
	submit_fixed(r, sizeof(*r));
	return 0;
}

/* Signals that end or stop a process: SIGINT, SIGQUIT, SIGKILL, SIGTERM,
 * SIGSTOP (uapi asm/signal.h numbers; #defines, not in BTF). */
#define SIGNALS_REPORTED ((1U << 2) | (1U << 3) | (1U << 9) | (1U << 15) | (1U << 19))
#define SEND_SIG_PRIV 1 /* the kernel's own "info" of a privileged sender */
#define PF_KTHREAD 0x00200000

/* Not inlined, like fill_fork, for signal_info's BTF; target_flags for
 * enum signal_flag's. */
static __noinline void fill_signal(struct signal_info *r, struct task_struct *sender,
				   struct task_struct *t)
{
	fill_header(&r->hdr, KIND_PROCESS_SIGNAL, sizeof(*r), sender);
	r->target_pid = BPF_CORE_READ(t, tgid);
	r->target_tid = BPF_CORE_READ(t, pid);
	bpf_probe_read_kernel_str(r->target_comm, sizeof(r->target_comm), t->comm);
	r->target_binary.off = r->target_binary.len = 0;
}

static __noinline enum signal_flag target_flags(__u32 target_pid, int group)
{
	enum signal_flag f = group ? SIGNAL_TO_GROUP : 0;

	if (agent_tgid && target_pid == agent_tgid)
		f |= SIGNAL_TO_AGENT;
	return f;
}

/*
 * signal_generate fires for every signal queued to a task, with the
 * target's lock held; most are the kernel's own (SIGCHLD, SIGALRM, a
 * tty's SIGINT) or a process's to itself. Only a signal from
 * SIGNALS_REPORTED, sent by a user process (si_code <= 0: kill, tgkill,
 * sigqueue) to another process, leaves the kernel: the cost of every other
 * call is a bit test and a few loads.
 */
SEC("tp_btf/signal_generate")
int BPF_PROG(handle_signal, int sig, struct kernel_siginfo *info, struct task_struct *t, int group,
	     int result)
{
	if (sig <= 0 || sig >= 32 || !((SIGNALS_REPORTED >> sig) & 1))
		return 0;

	/* SEND_SIG_NOINFO (NULL) is a user's kill, SEND_SIG_PRIV the kernel */
	int code = 0;

	if ((unsigned long)info == SEND_SIG_PRIV)
		return 0;
	if (info)
		code = BPF_CORE_READ(info, si_code);
	if (code > 0)
		return 0;

	struct task_struct *sender = bpf_get_current_task_btf();
	__u32 tgid = sender->tgid;

	if (tgid == BPF_CORE_READ(t, tgid) || (sender->flags & PF_KTHREAD) || !traced(sender))
		return 0;

	struct signal_info r;
	struct blob *b = blob_get();
	__u32 used = 0;

	if (!b)
		return 0;
	fill_signal(&r, sender, t);
	r.sig = sig;
	r.code = code;
	r.result = result;
	r.flags = target_flags(r.target_pid, group);
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);

	/* read without a reference, like every path here: a racing exit
	 * leaves at worst a cut path, which is flagged */
	if (exe && !blob_file_path(&used, &r.target_binary, exe)) {
		r.flags |= SIGNAL_BINARY_CUT;
		count_drop(DROP_TRUNCATED, KIND_PROCESS_SIGNAL);
	}
	emit_with_blob(&r, sizeof(r), b, used, KIND_PROCESS_SIGNAL);
	return 0;
}
