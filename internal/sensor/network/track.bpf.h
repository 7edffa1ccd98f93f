/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * State the network sensor keeps between hooks: calls between their entry
 * and exit, and the owners of TCP sockets, so that the end of a connection,
 * seen from whatever task the TCP stack runs in (often a softirq), is
 * reported for the process that opened it. Every map-full is counted.
 */
#pragma once

#include "common.bpf.h"
#include "blob.bpf.h"
#include "network.h"
#include "sock.bpf.h"

/* A call between its entry and its exit, in the calling thread's task
 * storage. syscall is NET_SYS_NONE between calls. */
struct pending {
	enum net_syscall syscall;
	__u32 pad;
	__s64 args[3]; /* the arguments the exit needs; per call, see the entries */
	__u64 sk;      /* connect: the TCP sock registered in owners, or 0 */
	struct user_addr user;
	__u32 pad2;
};

/*
 * Task storage, not a hash keyed by thread id: the exit of every fcntl or
 * socket call looks here, and a task's own storage is found from the task
 * without hashing; the kernel frees it with the thread, so a call whose
 * exit is never seen leaves nothing behind.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending);
} pending SEC(".maps");

/* -ERESTARTSYS … -ERESTART_RESTARTBLOCK: a call a signal interrupted. The
 * kernel restarts it (its entry fires again) or turns it into EINTR; user
 * space never sees these values. */
static __always_inline bool restarting(long ret)
{
	return ret <= -512 && ret >= -516;
}

/* sock_owner.flags, changed only with atomic operations: the owner's
 * connect() and the TCP stack's close may run on two CPUs at once. */
#define OWNER_IN_CONNECT 1 /* connect() has not returned yet */
#define OWNER_CLOSED 2	   /* the socket reached CLOSE; the fields below say how */

/* The process that opened a TCP socket, and, once it is closed, the close. */
struct sock_owner {
	__u32 tgid;
	__u32 tid;
	__u64 cgroup_id;
	__u32 flags;
	__s32 sk_err;
	__u64 close_ktime;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u16 protocol;
	__u8 old_state;
	__u8 pad;
	/* the socket's ports when its owner registered it (for a connect,
	 * once it returned); 0 while unknown. They tell this socket from a
	 * later one the kernel puts at the same address. */
	__u16 id_sport;
	__u16 id_dport;
	__u16 pad2;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* the loader sets the real size */
	__type(key, __u64);	    /* the struct sock's address */
	__type(value, struct sock_owner);
} owners SEC(".maps");

/* The record is built here, not on the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_info);
} net_infos SEC(".maps");

/* net_start clears the per-CPU record and fills its header for the
 * current task: two helper calls instead of a walk from the task. */
static __always_inline struct net_info *net_start(enum record_kind kind, enum net_syscall sc)
{
	__u32 zero = 0;
	struct net_info *n = bpf_map_lookup_elem(&net_infos, &zero);
	__u64 id = bpf_get_current_pid_tgid();

	if (!n)
		return NULL;
	__builtin_memset(n, 0, sizeof(*n));
	n->hdr.kind = kind;
	n->hdr.size = sizeof(*n);
	n->hdr.ktime = bpf_ktime_get_boot_ns();
	n->hdr.pid = id >> 32;
	n->hdr.tid = (__u32)id;
	n->hdr.cgroup_id = bpf_get_current_cgroup_id();
	n->syscall = sc;
	return n;
}

/* net_emit sends n, followed by tail bytes of the blob. */
static __always_inline void net_emit(struct net_info *n, struct blob *b, __u16 tail)
{
	enum record_kind kind = n->hdr.kind;

	n->tail_len = tail;
	if (!tail || !b) {
		n->tail_len = 0;
		if (bpf_ringbuf_output(&events, n, sizeof(*n), submit_flags(sizeof(*n))))
			count_drop(DROP_RINGBUF_FULL, kind);
		return;
	}
	emit_with_blob(n, sizeof(*n), b, tail, kind);
}

/* begin remembers a call until its exit; NULL when there is no memory
 * for the thread's storage. */
static __always_inline struct pending *begin(struct pending *p, enum record_kind kind)
{
	struct pending *pp = bpf_task_storage_get(&pending, bpf_get_current_task_btf(), NULL,
						  BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!pp) {
		count_drop(DROP_MAP_FULL, kind);
		return NULL;
	}
	__builtin_memcpy(pp, p, sizeof(*pp));
	return pp;
}

/* finish returns the current thread's call if it is sc. */
static __always_inline struct pending *finish(enum net_syscall sc)
{
	struct pending *p = bpf_task_storage_get(&pending, bpf_get_current_task_btf(), NULL, 0);

	return p && p->syscall == sc ? p : NULL;
}

/* forget ends the call p; the storage stays for the thread's next one. */
static __always_inline void forget(struct pending *p)
{
	p->syscall = NET_SYS_NONE;
}

/* stale says whether o belongs to another socket than the one whose ports
 * are sport, dport: the close of that socket was missed (see
 * handle_set_state_again) and the kernel has reused its memory. */
static __always_inline bool stale(struct sock_owner *o, __u16 sport, __u16 dport)
{
	return o->id_sport && (o->id_sport != sport || o->id_dport != dport);
}

/* own_sock records the current task as sk's owner; false when the map is
 * full. Both count a net_close as lost: the one that will not be reported,
 * or the one of a stale entry it replaces. */
static __always_inline bool own_sock(struct sock *sk, __u32 flags)
{
	__u64 key = (__u64)sk;
	__u64 id = bpf_get_current_pid_tgid();
	__u16 sport = sk->__sk_common.skc_num;
	__u16 dport = bpf_ntohs(sk->__sk_common.skc_dport);
	struct sock_owner *old = bpf_map_lookup_elem(&owners, &key);
	struct sock_owner o = {
		.tgid = id >> 32,
		.tid = (__u32)id,
		.cgroup_id = bpf_get_current_cgroup_id(),
		.flags = flags,
		.id_sport = sport,
		.id_dport = dport,
	};

	if (old && stale(old, sport, dport))
		count_drop(DROP_MAP_FULL, KIND_NET_CLOSE);
	if (bpf_map_update_elem(&owners, &key, &o, BPF_ANY)) {
		count_drop(DROP_MAP_FULL, KIND_NET_CLOSE);
		return false;
	}
	return true;
}

/* own_open_sock owns a sock that is already open (accepted, listening). A
 * sock that reached CLOSE before it was owned will not change state again:
 * its entry is removed at once. */
static __always_inline void own_open_sock(struct sock *sk)
{
	__u64 key = (__u64)sk;

	if (own_sock(sk, 0) && sk->__sk_common.skc_state == TCP_CLOSE)
		bpf_map_delete_elem(&owners, &key);
}

/* emit_close reports the close kept in o, for o's process. The record is
 * built on the stack, not in net_infos: this runs in softirqs too, which
 * may interrupt a syscall program on this CPU while it fills net_infos. */
static __always_inline void emit_close(struct sock_owner *o)
{
	struct net_info n = {
		.hdr = {
			.kind = KIND_NET_CLOSE,
			.size = sizeof(n),
			.ktime = o->close_ktime,
			.pid = o->tgid,
			.tid = o->tid,
			.cgroup_id = o->cgroup_id,
		},
		.syscall = NET_SYS_NONE,
		.fd = -1,
		.new_fd = -1,
		.family = o->family,
		.type = 1, /* SOCK_STREAM */
		.protocol = o->protocol,
		.sport = o->sport,
		.dport = o->dport,
		.state = TCP_CLOSE,
		.old_state = o->old_state,
		.sk_err = o->sk_err,
	};

	__builtin_memcpy(n.saddr, o->saddr, sizeof(n.saddr));
	__builtin_memcpy(n.daddr, o->daddr, sizeof(n.daddr));
	net_emit(&n, NULL, 0);
}

/*
 * connect_done ends a connect() for the TCP sock it registered. A close
 * that happened inside the call (a refused SYN) was kept, not reported:
 * it is reported now, after the connect, so that the stream stays in order.
 */
static __always_inline void connect_done(__u64 key, long ret, struct sock *sk)
{
	struct sock_owner *o = bpf_map_lookup_elem(&owners, &key);

	if (!o)
		return;
	__u32 old = __sync_fetch_and_and(&o->flags, ~OWNER_IN_CONNECT);
	if (old & OWNER_CLOSED) {
		emit_close(o);
		bpf_map_delete_elem(&owners, &key);
		return;
	}
	if (!sk)
		return;
	/* failed before a SYN was sent: the sock never left CLOSE, so no
	 * state change will ever remove the entry */
	if (ret < 0 && ret != -EINPROGRESS && sk->__sk_common.skc_state == TCP_CLOSE) {
		bpf_map_delete_elem(&owners, &key);
		return;
	}
	/* the ports are known now */
	o->id_sport = sk->__sk_common.skc_num;
	o->id_dport = bpf_ntohs(sk->__sk_common.skc_dport);
}
