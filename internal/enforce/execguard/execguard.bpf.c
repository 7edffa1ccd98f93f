//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The exec guard: a denied binary never runs its first instruction.
 *
 * No hook on this kernel can fail an exec (no BPF LSM, no fmod_ret), so the
 * guard acts at sched_process_exec, after the new image is set up and before
 * the task returns to user space: a SIGKILL sent there is fatal before the
 * first instruction, and a SIGSTOP stops the task there. Files are matched
 * by (s_dev, i_ino) of the executed file, so a symlink or a hardlink to a
 * denied binary is the denied binary. A copy is a new inode: policies that
 * hold unknown binaries stop the process until user space has hashed it.
 */
#include "common.bpf.h"
#include "enforce.bpf.h"
#include "kfuncs.bpf.h"
#include "execguard.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* from include/uapi/asm-generic/signal.h and linux/fs.h: #defines, not in BTF */
#define SIGKILL 9
#define SIGCONT 18
#define SIGSTOP 19
#define CLOCK_BOOTTIME 7  /* include/uapi/linux/time.h */
#define FMODE_EXEC 0x20	  /* f_mode, where older kernels mark exec opens */
#define __FMODE_EXEC 0x20 /* f_flags, where 6.x marks them (open flag of do_open_execat) */

/* A hold waits for the agent only while its heartbeat is this fresh, so a
 * dead agent never leaves processes stopped. */
#define HOLD_HEARTBEAT_NS (3ULL * 1000000000ULL)

/* A hold's timer looks at the heartbeat this often while the agent lives;
 * a signal it could not send from where it ran is tried again this soon. */
#define HOLD_CHECK_NS (1000000000ULL)
#define HOLD_RETRY_NS (1000000ULL)

/* task_works entries looked at for a #! script's file (see execguard_script) */
#define SCRIPT_WORKS_MAX 8

/* multigrain timestamps keep a flag in the top bit of i_ctime_nsec (6.13+) */
#define NSEC_MASK 0x7fffffffU

/* bpf_send_signal_task (kfuncs.bpf.h) is 6.13+ and weak, so that the object
 * still loads where it is missing */

/* the deferred-release callback a file on task_works carries (fput) */
extern void ____fput __ksym __weak;

/* files whose exec is denied, with the policies that deny them */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* mostly empty: pay per entry */
	__type(key, struct inode_key);
	__type(value, struct verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_deny SEC(".maps");

/* files user space has hashed and found clean, as they were then */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct inode_key);
	__type(value, struct file_stamp);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_known SEC(".maps");

/* tgid → what holds it stopped, with the timer that ends the hold if the
 * agent does not; pinned so that a restarted agent finds the processes its
 * predecessor left stopped */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct held_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_held SEC(".maps");

/* what the hold timers did (enum hold_expiry_stat); pinned, so that the
 * next agent learns what happened while none ran */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HOLD_EXPIRY_STATS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} exec_hold_expiry SEC(".maps");

/* inode___pre67: timestamps before they became i_*_sec/_nsec in 6.7 */
struct inode___pre67 {
	struct timespec64 i_mtime;
	struct timespec64 i_ctime;
};

/*
 * exe_key is file_key for bprm->file on the hot path: a tp_btf argument
 * and what it points at are BTF-typed, so plain loads work (the verifier
 * makes them fault-safe) and cost far less than probe-read helper calls.
 */
static __always_inline void exe_key(struct linux_binprm *bprm, struct inode_key *k)
{
	struct inode *inode = bprm->file->f_inode;

	k->ino = inode->i_ino;
	k->dev = inode->i_sb->s_dev;
	k->pad = 0;
}

/* file_key reads any file's key, through probe reads: for files found by
 * pointer arithmetic, which the verifier does not know the type of */
static __always_inline void file_key(struct file *file, struct inode_key *k)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);

	k->ino = BPF_CORE_READ(inode, i_ino);
	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->pad = 0;
}

static __always_inline void file_stamp(struct file *file, struct file_stamp *s)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);

	__builtin_memset(s, 0, sizeof(*s));
	s->size = BPF_CORE_READ(inode, i_size);
	if (bpf_core_field_exists(inode->i_mtime_sec)) {
		s->mtime_sec = BPF_CORE_READ(inode, i_mtime_sec);
		s->mtime_nsec = BPF_CORE_READ(inode, i_mtime_nsec) & NSEC_MASK;
		s->ctime_sec = BPF_CORE_READ(inode, i_ctime_sec);
		s->ctime_nsec = BPF_CORE_READ(inode, i_ctime_nsec) & NSEC_MASK;
	} else {
		struct inode___pre67 *old = (void *)inode;

		if (bpf_core_field_exists(old->i_ctime)) {
			s->mtime_sec = BPF_CORE_READ(old, i_mtime.tv_sec);
			s->mtime_nsec = BPF_CORE_READ(old, i_mtime.tv_nsec);
			s->ctime_sec = BPF_CORE_READ(old, i_ctime.tv_sec);
			s->ctime_nsec = BPF_CORE_READ(old, i_ctime.tv_nsec);
		}
	}
}

static __always_inline bool same_stamp(const struct file_stamp *a, const struct file_stamp *b)
{
	return a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	       a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec && a->size == b->size;
}

/* read_filename copies the execve filename into a record; returns its length. */
static __always_inline __u32 read_filename(char *dst, const char *src, __u32 *flags,
					   enum record_kind kind)
{
	long n = bpf_probe_read_kernel_str(dst, EXECG_FILENAME_MAX, src);

	if (n <= 0) {
		dst[0] = 0;
		return 0;
	}
	if (n == EXECG_FILENAME_MAX) {
		/* the buffer is full: the string went on unless it was exactly
		 * that long, which the byte at its NUL's place tells */
		char next = 0;

		bpf_probe_read_kernel(&next, 1, src + EXECG_FILENAME_MAX - 1);
		if (next) {
			*flags |= EXECG_FILENAME_CUT;
			count_drop(DROP_TRUNCATED, kind);
		}
	}
	return n - 1;
}

/* Not inlined so that exec_enforce gets into BTF, where bpf2go finds it. */
static __noinline void fill_enforce(struct exec_enforce *r, struct task_struct *task,
				    const struct enforce_hit *hit, const struct inode_key *key,
				    const struct inode_key *exe)
{
	fill_header(&r->hdr, KIND_ENFORCE_EXEC, sizeof(*r), task);
	r->hit = *hit;
	r->flags = 0;
	r->dev = key->dev;
	r->ino = key->ino;
	r->exe_dev = exe->dev;
	r->exe_ino = exe->ino;
	r->start_time = BPF_CORE_READ(task, group_leader, start_boottime);
	r->filename_len = 0;
	r->filename[0] = 0;
}

/* Not inlined, like fill_enforce, for exec_hold's BTF. */
static __noinline void fill_hold(struct exec_hold *r, struct task_struct *task,
				 const struct held_exec *h)
{
	fill_header(&r->hdr, KIND_EXEC_HOLD, sizeof(*r), task);
	r->held = *h;
	r->flags = 0;
}

/*
 * kill_matched acts on a decided hit: SIGKILL the current process in
 * enforce mode, then report either way. The signal goes first so that a
 * full ring never lets a denied binary run.
 */
static __always_inline void kill_matched(struct task_struct *task, struct linux_binprm *bprm,
					 const struct enforce_hit *hit, const struct inode_key *key,
					 const struct inode_key *exe, __u32 flags)
{
	if (hit->action == ENFORCE_KILLED && bpf_send_signal(SIGKILL))
		flags |= EXECG_SIGNAL_FAILED;

	struct exec_enforce *r = reserve_fixed(sizeof(*r), KIND_ENFORCE_EXEC);
	if (!r)
		return;
	fill_enforce(r, task, hit, key, exe);
	r->filename_len = read_filename(r->filename, BPF_CORE_READ(bprm, filename), &flags,
					KIND_ENFORCE_EXEC);
	r->flags = flags;
	submit_fixed(r, sizeof(*r));
}

static __always_inline void count_expiry(__u32 stat)
{
	__u64 *n = bpf_map_lookup_elem(&exec_hold_expiry, &stat);

	if (n)
		*n += 1;
}

/*
 * hold_expire is a hold's timer: it ends the hold in the kernel once the
 * agent is gone, so that a dead agent never leaves a process stopped. While
 * the heartbeat is fresh the agent answers the hold (Release deletes the
 * entry, which cancels the timer), so the timer only looks again later.
 * Once the heartbeat is stale the process is continued (fail open, as
 * holding nothing without an agent is): the entry is marked so that
 * execguard_cont lets this SIGCONT through, and deleted once it was sent.
 * bpf_send_signal_task refuses to signal from where user memory is not
 * mapped (the timer may run on an idle CPU or in ksoftirqd): such a refusal
 * is counted and tried again soon.
 */
static int hold_expire(void *map, __u32 *key, struct held_slot *slot)
{
	struct enforce_state *cfg = enforce_cfg();

	if (!slot->expiring && cfg &&
	    bpf_ktime_get_boot_ns() - cfg->heartbeat_ns < HOLD_HEARTBEAT_NS) {
		bpf_timer_start(&slot->timer, HOLD_CHECK_NS, 0);
		return 0;
	}
	/* without the kfuncs (before 6.13) no expiry: hold() does not hold */
	if (!ksym_exists(bpf_task_from_pid) || !ksym_exists(bpf_send_signal_task))
		return 0;

	struct task_struct *task = bpf_task_from_pid(*key);

	if (!task) {
		bpf_map_delete_elem(map, key); /* gone: nothing is stopped */
		return 0;
	}
	if (BPF_CORE_READ(task, group_leader, start_boottime) != slot->held.start_time) {
		bpf_task_release(task); /* the pid names another process now */
		bpf_map_delete_elem(map, key);
		return 0;
	}
	slot->expiring = 1;
	long err = bpf_send_signal_task(task, SIGCONT, PIDTYPE_TGID, 0);

	bpf_task_release(task);
	if (err) {
		count_expiry(HOLD_EXPIRE_RETRY);
		bpf_timer_start(&slot->timer, HOLD_RETRY_NS, 0);
		return 0;
	}
	count_expiry(HOLD_EXPIRED);
	bpf_map_delete_elem(map, key);
	return 0;
}

/* arm_expiry starts the timer of tgid's fresh exec_held entry. */
static __always_inline bool arm_expiry(__u32 tgid)
{
	struct held_slot *s = bpf_map_lookup_elem(&exec_held, &tgid);

	if (!s)
		return false;
	if (bpf_timer_init(&s->timer, &exec_held, CLOCK_BOOTTIME) ||
	    bpf_timer_set_callback(&s->timer, hold_expire) ||
	    bpf_timer_start(&s->timer, HOLD_CHECK_NS, 0))
		return false;
	return true;
}

/* hold_record reserves and fills the KIND_EXEC_HOLD record of h. */
static __always_inline struct exec_hold *
hold_record(struct task_struct *task, struct linux_binprm *bprm, const struct held_exec *h)
{
	struct exec_hold *r = reserve_fixed(sizeof(*r), KIND_EXEC_HOLD);

	if (!r)
		return NULL;
	fill_hold(r, task, h);
	r->filename_len = read_filename(r->filename, BPF_CORE_READ(bprm, filename), &r->flags,
					KIND_EXEC_HOLD);
	return r;
}

/*
 * not_held is the fail open of an exec a policy wanted held while the
 * agent's heartbeat was stale: the process runs unhashed. It is counted
 * (HOLD_NOT_HELD, pinned, so counted with no agent too), and a hold record
 * flagged EXECG_NOT_HELD tells an agent that is alive but was slow to beat:
 * it hashes the running binary and kills it from user space if the hash is
 * denied (late, but not silently let go). Nothing is stopped.
 */
static __always_inline void not_held(struct task_struct *task, struct linux_binprm *bprm,
				     const struct held_exec *h)
{
	count_expiry(HOLD_NOT_HELD);

	struct exec_hold *r = hold_record(task, bprm, h);
	if (!r)
		return;
	r->flags |= EXECG_NOT_HELD;
	bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
}

/*
 * hold stops the current process and tells user space, which hashes the
 * binary and continues or kills it. Without a record user space would never
 * answer, so no record (or no room in exec_held) means no hold; nor does a
 * hold without the timer that ends it should the agent die.
 */
static __always_inline void hold(struct task_struct *task, struct linux_binprm *bprm,
				 struct held_slot *slot)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	/* without the kfuncs the timer cannot end the hold: no hold */
	if (!ksym_exists(bpf_task_from_pid) || !ksym_exists(bpf_send_signal_task))
		return;

	struct exec_hold *r = hold_record(task, bprm, &slot->held);
	if (!r)
		return;

	/* the entry goes in before the stop, so that the SIGCONT guard
	 * (execguard_cont) covers the process from its first moment */
	if (bpf_map_update_elem(&exec_held, &tgid, slot, BPF_ANY)) {
		count_drop(DROP_MAP_FULL, KIND_EXEC_HOLD);
		bpf_ringbuf_discard(r, 0);
		return;
	}
	if (!arm_expiry(tgid)) {
		bpf_map_delete_elem(&exec_held, &tgid);
		count_drop(DROP_MAP_FULL, KIND_EXEC_HOLD);
		bpf_ringbuf_discard(r, 0);
		return;
	}
	if (bpf_send_signal(SIGSTOP)) {
		/* not stopped: user space may still hash and kill, late */
		bpf_map_delete_elem(&exec_held, &tgid);
		r->flags |= EXECG_SIGNAL_FAILED;
	} else {
		count_hit(lowest_bit(slot->held.policies), ENFORCE_HELD);
	}
	/* user space must answer fast: wake it now */
	bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(execguard_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct enforce_state *cfg = enforce_cfg();

	/* no policy anywhere: every exec on the host pays only this */
	if (!cfg || (!cfg->host && !cfg->scoped))
		return 0;

	struct inode_key key;
	__u64 mine;

	exe_key(bprm, &key);
	/* exempt() is checked before acting, not first: it is a hash lookup
	 * that the common case (nothing to do) need not pay */
	struct verdict *v = bpf_map_lookup_elem(&exec_deny, &key);
	if (v) {
		struct enforce_hit hit;

		if (exempt(task->tgid))
			return 0;
		mine = task_policies(task, cfg);
		if (decide(v, mine, ENFORCE_KILLED, &hit)) {
			kill_matched(task, bprm, &hit, &key, &key, 0);
			if (hit.action == ENFORCE_KILLED)
				return 0;
		}
	} else {
		if (!cfg->hash_hold)
			return 0;
		if (exempt(task->tgid))
			return 0;
		mine = task_policies(task, cfg);
	}

	__u64 want = cfg->hash_hold & mine;
	if (!want)
		return 0;

	struct held_slot slot = {
		.held =
			{
				.key = key,
				.start_time = BPF_CORE_READ(task, group_leader, start_boottime),
				.policies = want,
			},
	};

	file_stamp(bprm->file, &slot.held.stamp);
	struct file_stamp *known = bpf_map_lookup_elem(&exec_known, &key);
	if (known && same_stamp(known, &slot.held.stamp))
		return 0;
	slot.held.held_at = bpf_ktime_get_boot_ns();
	/* fail open: without a live agent nobody would continue the process
	 * (a heartbeat in the future wraps to a huge age, also stale) */
	if (slot.held.held_at - cfg->heartbeat_ns >= HOLD_HEARTBEAT_NS) {
		not_held(task, bprm, &slot.held);
		return 0;
	}
	hold(task, bprm, &slot);
	return 0;
}

/*
 * execguard_script matches #! scripts. At sched_process_exec the kernel has
 * already swapped the script for its interpreter (bprm->file), and
 * bprm->executable is only kept for binfmt_misc's "O" flag. But exec_binprm()
 * drops its reference to the script with fput(), which defers the release to
 * task_work: the script's struct file stays on current->task_works, linked
 * through file->f_task_work, until the task returns to user space. At
 * sched_prepare_exec (begin_new_exec, before the old mm is torn down, which
 * queues the previous image's files the same way) the files on that list
 * that ____fput will release and that were opened for exec (__FMODE_EXEC)
 * are exactly the scripts of this exec, nested ones included. Measured on
 * 6.18: one entry per script, its callback ____fput, f_flags 0x8020.
 */
SEC("tp_btf/sched_prepare_exec")
int BPF_PROG(execguard_script, struct task_struct *task, struct linux_binprm *bprm)
{
	/* binfmt_script and binfmt_misc point interp away from filename */
	if (bprm->interp == bprm->filename)
		return 0;

	struct enforce_state *cfg = enforce_cfg();

	if (!cfg || (!cfg->host && !cfg->scoped))
		return 0;

	struct inode_key exe, key;

	exe_key(bprm, &exe);

	struct file *cand = BPF_CORE_READ(bprm, executable);
	struct callback_head *work = BPF_CORE_READ(task, task_works);
	__u64 off = bpf_core_field_offset(struct file, f_task_work);

	for (int i = 0; i <= SCRIPT_WORKS_MAX; i++) {
		if (i > 0) {
			/* only files released by fput and opened for exec;
			 * probe reads, so an entry that is not a file reads
			 * as garbage and never faults */
			if (!work)
				break;
			cand = (void *)work - off;
			void *fn = BPF_CORE_READ(work, func);
			work = BPF_CORE_READ(work, next);
			if (ksym_exists(&____fput) && fn != &____fput)
				continue;
			if (!(BPF_CORE_READ(cand, f_flags) & __FMODE_EXEC) &&
			    !(BPF_CORE_READ(cand, f_mode) & FMODE_EXEC))
				continue;
		}
		if (!cand)
			continue;
		file_key(cand, &key);

		struct verdict *v = bpf_map_lookup_elem(&exec_deny, &key);
		struct enforce_hit hit;

		if (!v)
			continue;
		if (exempt(BPF_CORE_READ(task, tgid)))
			return 0;
		if (decide(v, task_policies(task, cfg), ENFORCE_KILLED, &hit)) {
			kill_matched(task, bprm, &hit, &key, &exe, EXECG_SCRIPT);
			if (hit.action == ENFORCE_KILLED)
				return 0;
		}
	}
	return 0;
}

/*
 * execguard_cont narrows the gap a stop leaves: anyone allowed to signal the
 * held process could SIGCONT it before user space has hashed it. A SIGCONT
 * to a held process from anyone but the agent (or the exempt) kills it. The
 * kill cannot be synchronous (signal_generate runs under the siglock, so
 * the signal is sent from irq_work once it is released): the continued
 * process may run briefly before it dies. This narrows the gap; it does not
 * close it.
 */
SEC("tp_btf/signal_generate")
int BPF_PROG(execguard_cont, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	if (sig != SIGCONT)
		return 0;

	__u32 tgid = task->tgid;
	struct held_slot *s = bpf_map_lookup_elem(&exec_held, &tgid);

	if (!s || s->expiring)
		return 0; /* not held, or continued by its expiry (hold_expire) */

	struct held_exec *h = &s->held;

	if (h->start_time != BPF_CORE_READ(task, group_leader, start_boottime))
		return 0;
	if (exempt(bpf_get_current_pid_tgid() >> 32))
		return 0;

	__u32 flags = EXECG_CONTINUED;

	if (!ksym_exists(bpf_send_signal_task) ||
	    bpf_send_signal_task(task, SIGKILL, PIDTYPE_TGID, 0))
		flags |= EXECG_SIGNAL_FAILED;

	struct enforce_hit hit = {
		.policy = lowest_bit(h->policies),
		.action = ENFORCE_KILLED,
	};
	count_hit(hit.policy, hit.action);

	struct inode_key key = h->key;
	struct exec_enforce *r = reserve_fixed(sizeof(*r), KIND_ENFORCE_EXEC);
	if (!r)
		return 0;
	fill_enforce(r, task, &hit, &key, &key);
	r->flags = flags;
	submit_fixed(r, sizeof(*r));
	return 0;
}
