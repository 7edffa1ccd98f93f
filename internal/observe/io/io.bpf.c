//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The I/O observer: block I/O latency histogram, bytes and operations by
 * read and write per cgroup v2.
 *
 * A request is charged to the task that started it (block_io_start runs in
 * the submitter's context as the bio becomes a request); its latency runs
 * from block_rq_issue (handed to the driver) to block_rq_complete, which
 * may run in interrupt context. Requests are followed by address in a
 * hash: a request's address is one of its queue's tags, reused, so an
 * entry a missed completion leaves behind is overwritten, not leaked.
 * Writeback is started by kernel threads and charged to their cgroup
 * (the root): the bio's blkcg would name the writer's, but on a hybrid
 * host that is a v1 cgroup whose id does not match the v2 ones.
 *
 * Where the block layer stamps requests itself (a queue with
 * QUEUE_FLAG_STATS, which writeback throttling sets on every blk-mq
 * queue it runs on, the default), block_rq_issue does nothing: the
 * kernel writes io_start_time_ns right after the tracepoint and marks the
 * request RQF_STATS, and block_rq_complete reads that. The flag's bit is
 * in an anonymous enum, out of CO-RE's reach, so the program reads what
 * the kernel sets it from instead (kernel_stamps); on a kernel whose
 * types differ, every request is stamped here as before.
 */
#include "common.bpf.h"
#include "observe.bpf.h"
#include "io.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define REQ_OP_MASK 0xff /* (1 << REQ_OP_BITS) - 1 in blk_types.h */

struct pending {
	__u64 cgroup;
	__u64 issued; /* 0 until block_rq_issue; stays 0 if the kernel stamps */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096); /* the loader sets the real size */
	__type(key, __u64);
	__type(value, struct io_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pending);
} pending SEC(".maps");

const struct io_stats zero_io_stats = {};

/* Whether to use the block layer's stamp where it makes one; a test
 * clears it to exercise the program's own stamps. */
const volatile bool use_kernel_stamp = true;

/* kernel_stamp_known says whether this kernel's request and queue
 * statistics have the shape kernel_stamps and kernel_stamp read. */
static __always_inline bool kernel_stamp_known(void)
{
	return use_kernel_stamp && bpf_core_enum_value_exists(enum rqf_flags, __RQF_STATS) &&
	       bpf_core_field_exists(struct blk_queue_stats, accounting) &&
	       bpf_core_field_exists(struct request, io_start_time_ns);
}

/*
 * kernel_stamps says whether blk_mq_start_request, which fires
 * block_rq_issue, stamps the read or write rq next: whether its queue has
 * QUEUE_FLAG_STATS. The kernel sets and clears that flag, under the
 * statistics' lock, exactly when their callback list becomes non-empty or
 * empty or their accounting count leaves or reaches 0 (blk-stat.c), so
 * those stand for it. The only time they disagree with the flag is the
 * instant between the two stores when a queue's first statistics user
 * registers (at disk set-up): a request issued then gets no stamp and
 * block_rq_complete counts its bytes without a latency.
 */
static __always_inline bool kernel_stamps(struct request *rq)
{
	struct blk_queue_stats *qs;

	if (!kernel_stamp_known())
		return false;
	qs = rq->q->stats;
	if (!qs)
		return false;
	return qs->accounting > 0 || qs->callbacks.next != &qs->callbacks;
}

/* kernel_stamp is when the block layer says rq was issued, or 0 when it
 * did not stamp rq. */
static __always_inline __u64 kernel_stamp(struct request *rq)
{
	__u32 flag;

	if (!kernel_stamp_known())
		return 0;
	flag = 1U << bpf_core_enum_value(enum rqf_flags, __RQF_STATS);
	return rq->rq_flags & flag ? rq->io_start_time_ns : 0;
}

static __always_inline void start(struct request *rq, __u64 issued)
{
	__u64 key = (__u64)rq;
	struct pending p = { .cgroup = bpf_get_current_cgroup_id(), .issued = issued };

	if (bpf_map_update_elem(&pending, &key, &p, BPF_ANY))
		obs_lose(OBS_LOSS_PENDING_FULL);
}

SEC("tp_btf/block_io_start")
int BPF_PROG(block_io_start, struct request *rq)
{
	start(rq, 0);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	__u32 op = rq->cmd_flags & REQ_OP_MASK;
	__u64 key = (__u64)rq;
	struct pending *p;

	/* only reads and writes are counted; the kernel stamps those itself
	 * on a queue that keeps statistics */
	if ((op != REQ_OP_READ && op != REQ_OP_WRITE) || kernel_stamps(rq))
		return 0;
	p = bpf_map_lookup_elem(&pending, &key);
	if (p)
		p->issued = bpf_ktime_get_ns();
	else /* not seen starting (a dm-multipath clone, or loaded mid-flight) */
		start(rq, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns(), issued;
	struct pending *p = bpf_map_lookup_elem(&pending, &key);
	__u32 op = rq->cmd_flags & REQ_OP_MASK;
	struct io_stats *st;

	if (!p)
		return 0;
	issued = p->issued ?: kernel_stamp(rq);
	if (op == REQ_OP_READ || op == REQ_OP_WRITE) {
		st = obs_stats(&stats, p->cgroup, &zero_io_stats);
		if (st) {
			if (issued && now > issued)
				obs_observe(&st->latency, now - issued);
			/* the verifier wants the index bounded: op is 0 or 1 here */
			st->bytes[op & 1] += nr_bytes;
			st->ops[op & 1] += 1;
		}
	}
	bpf_map_delete_elem(&pending, &key);
	return 0;
}
