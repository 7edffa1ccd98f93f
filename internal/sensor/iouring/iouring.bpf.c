//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The io_uring sensor. Requests submitted through an io_uring never pass
 * the system call tracepoints the file and network sensors watch: the
 * kernel opens the file or connects the socket on the ring's behalf. This
 * object watches io_uring's own tracepoints, BTF-typed (tp_btf), which
 * need neither kprobes nor tracefs:
 *
 * - io_uring_create: a ring was set up (io_uring_setup), in the caller.
 * - io_uring_complete: a request posted its completion. For OPENAT and
 *   OPENAT2 with a file, the new file is looked up where the result says
 *   (the submitter's descriptor table, or the ring's registered files) and
 *   its path walked from the kernel's dentries, as the process sensor
 *   does; for CONNECT, the peer of the request's socket.
 *   Every other completion returns after reading the request's opcode.
 *
 * The request's submitter (req->tctx->task) is reported, not the task
 * that happens to post the completion (an io-wq worker, a task running
 * another's task work): for an SQPOLL ring that is the ring's kernel
 * thread, a thread of the process that set the ring up (IOU_WORKER).
 */
#include "common.bpf.h"
#include "blob.bpf.h"
#include "path.bpf.h"
#include "args.bpf.h"
#include <bpf/bpf_endian.h>
#include "iouring.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* #defines of the uapi and kernel headers, which are not in BTF */
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define PF_IO_WORKER 0x00000010	      /* task->flags: an io_uring thread */
#define IORING_FILE_INDEX_ALLOC (~0U) /* open: the kernel picks the slot */
#define FFS_MASK (~3UL)		      /* io_rsrc_node.file_ptr: flag bits */
#define SUN_PATH_MAX 108

/* The record being built; too large for the stack with the blob walk. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct iou_info);
} scratch SEC(".maps");

static __always_inline struct iou_info *begin(struct task_struct *task, enum record_kind kind)
{
	__u32 zero = 0;
	struct iou_info *r;

	if (!traced(task))
		return NULL;
	r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r)
		return NULL;
	__builtin_memset(r, 0, sizeof(*r));
	fill_header(&r->hdr, kind, sizeof(*r), task);
	if (BPF_CORE_READ(task, flags) & PF_IO_WORKER)
		r->info |= IOU_WORKER;
	return r;
}

SEC("tp_btf/io_uring_create")
int BPF_PROG(iouring_create, int fd, void *ring, __u32 sq_entries, __u32 cq_entries, __u32 flags)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct iou_info *r = begin(task, KIND_IO_URING_CREATE);

	if (!r)
		return 0;
	r->ring_fd = fd;
	r->res = fd;
	r->sq_entries = sq_entries;
	r->cq_entries = cq_entries;
	r->setup_flags = flags;

	struct iou_info *rec = reserve_fixed(sizeof(*rec), KIND_IO_URING_CREATE);

	if (!rec)
		return 0;
	__builtin_memcpy(rec, r, sizeof(*rec));
	submit_fixed(rec, sizeof(*rec));
	return 0;
}

/* fixed_file is the file in slot idx of the ring's registered files. */
static __always_inline struct file *fixed_file(struct io_ring_ctx *ctx, __u32 idx)
{
	struct io_rsrc_node **nodes = BPF_CORE_READ(ctx, file_table.data.nodes);
	struct io_rsrc_node *node = NULL;
	unsigned long ptr;

	if (idx >= BPF_CORE_READ(ctx, file_table.data.nr))
		return NULL;
	bpf_probe_read_kernel(&node, sizeof(node), &nodes[idx]);
	if (!node)
		return NULL;
	ptr = BPF_CORE_READ(node, file_ptr);
	return (struct file *)(ptr & FFS_MASK);
}

/* opened records the file an OPENAT/OPENAT2 request made. */
static __always_inline void opened(struct io_ring_ctx *ctx, struct io_kiocb *req,
				   struct task_struct *task, __u8 op, __s32 res)
{
	struct io_open *open = (struct io_open *)&req->cmd;
	struct iou_info *r = begin(task, KIND_IO_URING_OPEN);
	struct file *f;

	if (!r)
		return;
	r->opcode = op;
	r->res = res;
	r->open_flags = BPF_CORE_READ(open, how.flags);
	r->mode = BPF_CORE_READ(open, how.mode);
	__u32 slot = BPF_CORE_READ(open, file_slot);

	if (slot) {
		r->info |= IOU_FIXED_FILE;
		/* with IORING_FILE_INDEX_ALLOC the result is the slot;
		 * otherwise the slot asked for, counted from 1, and res is 0 */
		f = fixed_file(ctx, slot == IORING_FILE_INDEX_ALLOC ? res : slot - 1);
		if (slot != IORING_FILE_INDEX_ALLOC)
			r->res = slot - 1;
	} else {
		f = task_fd_file(task, res);
	}

	struct blob *b = blob_get();
	__u32 used = 0;

	if (!b)
		return;
	if (!f) {
		r->info |= IOU_NO_FILE;
	} else {
		struct inode *ino = BPF_CORE_READ(f, f_inode);

		r->ino = BPF_CORE_READ(ino, i_ino);
		r->dev = BPF_CORE_READ(ino, i_sb, s_dev);
		r->ino_mode = BPF_CORE_READ(ino, i_mode);
		r->info |= IOU_INODE;
		if (!blob_file_path(&used, &r->path, f)) {
			r->info |= IOU_PATH_CUT;
			count_drop(DROP_TRUNCATED, KIND_IO_URING_OPEN);
		}
	}
	emit_with_blob(r, sizeof(*r), b, used, KIND_IO_URING_OPEN);
}

/*
 * connected records a CONNECT request: the socket's own view of the peer
 * (the address the request copied in at submission is recycled before the
 * completion). A failed connect may have left no peer: IOU_NO_ADDR.
 */
static __always_inline void connected(struct io_kiocb *req, struct task_struct *task, __s32 res)
{
	struct iou_info *r = begin(task, KIND_IO_URING_CONNECT);
	struct socket *sock = BPF_CORE_READ(req, file, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);

	if (!r)
		return;
	r->opcode = IOU_OP_CONNECT;
	r->res = res;

	struct blob *b = blob_get();
	__u32 used = 0;

	if (!b)
		return;
	if (!sk) {
		r->info |= IOU_NO_ADDR;
		emit_with_blob(r, sizeof(*r), b, used, KIND_IO_URING_CONNECT);
		return;
	}
	r->sock_type = BPF_CORE_READ(sock, type);
	r->protocol = BPF_CORE_READ(sk, sk_protocol);
	r->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (r->family == AF_INET) {
		__u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(r->daddr, &daddr, 4);
		r->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	} else if (r->family == AF_INET6) {
		BPF_CORE_READ_INTO(&r->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		r->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	} else if (r->family == AF_UNIX) {
		/* the peer's bound name: unix_sock->peer->addr->name */
		struct unix_sock *peer =
			(struct unix_sock *)BPF_CORE_READ((struct unix_sock *)sk, peer);
		struct unix_address *ua = BPF_CORE_READ(peer, addr);

		if (ua && !blob_kstr(b, &used, &r->path, ua->name[0].sun_path, SUN_PATH_MAX)) {
			r->info |= IOU_PATH_CUT;
			count_drop(DROP_TRUNCATED, KIND_IO_URING_CONNECT);
		}
	}
	if (r->family != AF_UNIX && !r->dport)
		r->info |= IOU_NO_ADDR;
	emit_with_blob(r, sizeof(*r), b, used, KIND_IO_URING_CONNECT);
}

/*
 * Every completion of every ring passes here: anything but the three
 * reported operations costs one read of the request's opcode. req is a
 * plain pointer in this tracepoint (void *; NULL for completions no
 * request posts): typed with bpf_rdonly_cast, the opcode is one load
 * instead of a helper call; the rest is read with helpers.
 */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(iouring_complete, struct io_ring_ctx *ring, void *reqp, struct io_uring_cqe *cqe)
{
	struct io_kiocb *req = reqp;
	__u8 op;

	if (!req)
		return 0;
	op = ((struct io_kiocb *)bpf_rdonly_cast(req, bpf_core_type_id_kernel(struct io_kiocb)))
		     ->opcode;
	if (op != IOU_OP_OPENAT && op != IOU_OP_OPENAT2 && op != IOU_OP_CONNECT)
		return 0;

	__s32 res = BPF_CORE_READ(cqe, res);
	struct task_struct *task = BPF_CORE_READ(req, tctx, task);

	if (!task)
		task = (struct task_struct *)bpf_get_current_task();
	if (op == IOU_OP_CONNECT)
		connected(req, task, res);
	else if (res >= 0)
		opened(ring, req, task, op, res);
	return 0;
}
