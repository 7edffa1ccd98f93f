//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The network sensor: connect, accept, listen, bind, raw and packet
 * sockets, the end of TCP connections, DNS queries, sockets put on
 * stdin/stdout/stderr and received bytes that start with a Java class file
 * or an ELF binary. One classic tracepoint per watched system call, so
 * that calls nobody watches pay only the kernel's syscall-tracepoint check;
 * addresses are read from the kernel's socket at syscall exit. Sends and
 * receives, which are hot, are seen at the socket layer's own tracepoints
 * (sock_send_length, sock_recv_length): reads and writes of files and
 * pipes pay nothing for them.
 */
#include "common.bpf.h"
#include "blob.bpf.h"
#include "network.h"
#include "sock.bpf.h"
#include "track.bpf.h"
#include "dns.bpf.h"
#include "redirect.bpf.h"
#include "payload.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* --- connect ----------------------------------------------------------- */

/* Entry: the caller's address (a refused connect leaves none in the
 * socket), and, for TCP, the socket's owner, so that a close inside the
 * call is attributed. args: fd. */
SEC("tracepoint/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	struct pending p = { .syscall = NET_SYS_CONNECT, .args = { ctx->args[0] } };
	struct task_struct *task = current_task();

	if (!copy_user_addr(&p.user, (const void *)ctx->args[1], ctx->args[2]) ||
	    !family_wanted(user_addr_family(&p.user)) || !traced(task))
		return 0;
	struct pending *pp = begin(&p, KIND_NET_CONNECT);
	if (!pp)
		return 0;
	struct sock *sk = fd_sock(ctx->args[0]);
	if (sk && tcp_like(sk->sk_protocol) && own_sock(sk, OWNER_IN_CONNECT))
		pp->sk = (__u64)sk;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	struct pending *p = finish(NET_SYS_CONNECT);
	if (!p)
		return 0;

	struct net_info *n = net_start(KIND_NET_CONNECT, NET_SYS_CONNECT);
	struct blob *b = blob_get();
	struct sock *sk = fd_sock(p->args[0]);
	long ret = ctx->ret;
	__u16 tail = 0;

	/* interrupted: the restarted call is reported, once, at its own exit */
	if (!n || !b || restarting(ret))
		goto out;
	n->ret = ret;
	n->fd = p->args[0];
	if (sk)
		read_sock(n, sk);
	__u16 family = user_addr_family(&p->user);
	if (family == AF_UNIX) {
		n->family = AF_UNIX;
		tail = tail_user_path(b, &p->user);
		n->flags |= NET_TAIL_UNIX_PEER;
	} else if (n->dport == 0 || addr_unset(n->daddr)) {
		/* failed, or refused and disconnected: what was tried */
		__builtin_memset(n->daddr, 0, sizeof(n->daddr));
		if (user_addr_endpoint(&p->user, &n->dport, n->daddr)) {
			n->flags |= NET_ADDR_FROM_USER;
			if (!sk)
				n->family = family;
		}
	}
	net_emit(n, b, tail);
out:
	if (p->sk)
		connect_done(p->sk, ret, sk);
	forget(p);
	return 0;
}

/*
 * Reads sk into n, with a unix socket's own path as the tail, and emits it;
 * then, when own is set, takes a TCP socket into the owners map, so that
 * its close is attributed (set_state). n is gone once emitted: the protocol
 * is read before.
 */
static __always_inline void emit_sock(struct net_info *n, struct blob *b, struct sock *sk, bool own)
{
	__u16 tail = 0;

	read_sock(n, sk);
	if (n->family == AF_UNIX) {
		tail = tail_sock_path(b, sk);
		n->flags |= NET_TAIL_UNIX_LOCAL;
	}
	bool tcp = own && tcp_like(n->protocol);
	net_emit(n, b, tail);
	if (tcp)
		own_open_sock(sk);
}

/* --- accept: only successful calls; the peer is known at exit --------- */

static __always_inline void report_accept(long ret, enum net_syscall sc)
{
	if (ret < 0)
		return;
	struct task_struct *task = current_task();
	struct sock *sk = fd_sock(ret);
	if (!sk || !family_wanted(sk->__sk_common.skc_family) || !traced(task))
		return;

	struct net_info *n = net_start(KIND_NET_ACCEPT, sc);
	struct blob *b = blob_get();
	if (!n || !b)
		return;
	n->ret = ret;
	n->fd = ret;
	emit_sock(n, b, sk, true);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	report_accept(ctx->ret, NET_SYS_ACCEPT);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	report_accept(ctx->ret, NET_SYS_ACCEPT4);
	return 0;
}

/* --- listen: args fd, backlog ------------------------------------------ */

SEC("tracepoint/syscalls/sys_enter_listen")
int enter_listen(struct trace_event_raw_sys_enter *ctx)
{
	struct pending p = { .syscall = NET_SYS_LISTEN, .args = { ctx->args[0], ctx->args[1] } };

	if (traced(current_task()))
		begin(&p, KIND_NET_LISTEN);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_listen")
int exit_listen(struct trace_event_raw_sys_exit *ctx)
{
	struct pending *p = finish(NET_SYS_LISTEN);
	if (!p)
		return 0;

	struct sock *sk = fd_sock(p->args[0]);
	if (!sk || !family_wanted(sk->__sk_common.skc_family))
		goto out;
	struct net_info *n = net_start(KIND_NET_LISTEN, NET_SYS_LISTEN);
	struct blob *b = blob_get();
	if (!n || !b)
		goto out;
	n->ret = ctx->ret;
	n->fd = p->args[0];
	n->backlog = p->args[1];
	emit_sock(n, b, sk, ctx->ret == 0);
out:
	forget(p);
	return 0;
}

/* --- bind: args fd; the caller's address for failed calls ------------- */

SEC("tracepoint/syscalls/sys_enter_bind")
int enter_bind(struct trace_event_raw_sys_enter *ctx)
{
	struct pending p = { .syscall = NET_SYS_BIND, .args = { ctx->args[0] } };

	if (copy_user_addr(&p.user, (const void *)ctx->args[1], ctx->args[2]) &&
	    family_wanted(user_addr_family(&p.user)) && traced(current_task()))
		begin(&p, KIND_NET_BIND);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int exit_bind(struct trace_event_raw_sys_exit *ctx)
{
	struct pending *p = finish(NET_SYS_BIND);
	if (!p)
		return 0;

	struct net_info *n = net_start(KIND_NET_BIND, NET_SYS_BIND);
	struct blob *b = blob_get();
	__u16 tail = 0;
	long ret = ctx->ret;
	if (!n || !b)
		goto out;
	n->ret = ret;
	n->fd = p->args[0];
	struct sock *sk = fd_sock(p->args[0]);
	if (sk)
		read_sock(n, sk);
	__u16 family = user_addr_family(&p->user);
	if (family == AF_UNIX) {
		n->family = AF_UNIX;
		tail = tail_user_path(b, &p->user);
		n->flags |= NET_TAIL_UNIX_LOCAL;
	} else if (ret < 0 || !sk) {
		__builtin_memset(n->saddr, 0, sizeof(n->saddr));
		n->sport = 0;
		if (user_addr_endpoint(&p->user, &n->sport, n->saddr)) {
			n->flags |= NET_ADDR_FROM_USER;
			n->family = family;
		}
	}
	net_emit(n, b, tail);
out:
	forget(p);
	return 0;
}

/* --- socket: raw inet and packet sockets; args family, type, protocol -- */

SEC("tracepoint/syscalls/sys_enter_socket")
int enter_socket(struct trace_event_raw_sys_enter *ctx)
{
	long family = ctx->args[0];
	long type = ctx->args[1] & SOCK_TYPE_MASK;

	/* raw netlink sockets (ip, systemd, …) are everywhere: inet only */
	bool inet = family == AF_INET || family == AF_INET6;
	if (family != AF_PACKET && !(inet && (type == SOCK_RAW || type == SOCK_PACKET)))
		return 0;
	struct pending p = {
		.syscall = NET_SYS_SOCKET,
		.args = { family, type, ctx->args[2] },
	};
	if (traced(current_task()))
		begin(&p, KIND_NET_SOCKET);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_socket")
int exit_socket(struct trace_event_raw_sys_exit *ctx)
{
	struct pending *p = finish(NET_SYS_SOCKET);
	if (!p)
		return 0;

	struct net_info *n = net_start(KIND_NET_SOCKET, NET_SYS_SOCKET);
	if (n) {
		n->ret = ctx->ret;
		n->fd = ctx->ret >= 0 ? ctx->ret : -1;
		n->family = p->args[0];
		n->type = p->args[1];
		/* a packet socket's protocol is an ethertype in network order */
		n->protocol = n->family == AF_PACKET ? bpf_ntohs(p->args[2]) : p->args[2];
		net_emit(n, NULL, 0);
	}
	forget(p);
	return 0;
}

/* --- the end of a TCP connection --------------------------------------- */

/*
 * The TCP stack changes state in whatever task runs it, often a softirq, so
 * the pid here means nothing: the owner comes from the owners map, filled
 * when the socket was connected, accepted or put to listen. Only the final
 * change to CLOSE is reported; the state it left says how the connection
 * ended (SYN_SENT: never established; FIN_WAIT2/LAST_ACK: orderly; …).
 * tp_btf, not the classic tracepoint: cheaper per call, and the sock is
 * typed, so its fields are plain loads.
 */
static __always_inline void set_state(const struct sock *sk, int oldstate, int newstate)
{
	if (newstate != TCP_CLOSE || !tcp_like(sk->sk_protocol))
		return;
	__u64 key = (__u64)sk;
	struct sock_owner *o = bpf_map_lookup_elem(&owners, &key);
	if (!o)
		return;

	/* inet_sport, not skc_num: the port may already be released here */
	struct inet_sock *inet = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct inet_sock));
	__u16 sport = bpf_ntohs(inet->inet_sport);
	__u16 dport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (stale(o, sport, dport)) {
		/* an unowned socket where an owned one was: the owned one's
		 * close was missed; this one is nobody's to report */
		count_drop(DROP_MAP_FULL, KIND_NET_CLOSE);
		bpf_map_delete_elem(&owners, &key);
		return;
	}
	__u16 family = sk->__sk_common.skc_family;
	o->close_ktime = bpf_ktime_get_boot_ns();
	o->old_state = oldstate;
	o->family = family;
	o->protocol = sk->sk_protocol;
	o->sport = sport;
	o->dport = dport;
	if (family == AF_INET6) {
		__builtin_memcpy(o->saddr, &sk->__sk_common.skc_v6_rcv_saddr, sizeof(o->saddr));
		__builtin_memcpy(o->daddr, &sk->__sk_common.skc_v6_daddr, sizeof(o->daddr));
	} else {
		__builtin_memset(o->saddr, 0, sizeof(o->saddr));
		__builtin_memset(o->daddr, 0, sizeof(o->daddr));
		*(__u32 *)o->saddr = sk->__sk_common.skc_rcv_saddr;
		*(__u32 *)o->daddr = sk->__sk_common.skc_daddr;
	}
	o->sk_err = sk->sk_err;
	/* the fields above are published by the atomic below (a full
	 * barrier); the second handler, run for the same change, finds the
	 * flag set (or the entry gone) and leaves */
	__u32 old = __sync_fetch_and_or(&o->flags, OWNER_CLOSED);
	if (old & (OWNER_IN_CONNECT | OWNER_CLOSED))
		return; /* the connect's exit reports it, after the connect */
	emit_close(o);
	bpf_map_delete_elem(&owners, &key);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_set_state, const struct sock *sk, int oldstate, int newstate)
{
	set_state(sk, oldstate, newstate);
	return 0;
}

/*
 * The kernel does not run a tp_btf program inside itself: when a softirq
 * closes a socket while handle_set_state runs on the same CPU (in a task's
 * close(), say), that run is skipped, and the close would be lost. A
 * second, identical program on the same tracepoint is not running then, so
 * it takes the change; for every other change, whichever runs second finds
 * the work done. Both are skipped only if a close could interrupt a
 * softirq, which it cannot; a close missed anyway leaves a stale entry,
 * counted as lost when it is found.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_set_state_again, const struct sock *sk, int oldstate, int newstate)
{
	set_state(sk, oldstate, newstate);
	return 0;
}

/*
 * DNS queries: messages to a DNS port that look like queries (dns.bpf.h).
 * write, sendto and sendmsg are seen where the kernel ends every send on a
 * socket (tp_btf/sock_send_length, Linux 6.3): a TCP send leaves after one
 * load, and writes to files and pipes, the hottest calls, run nothing.
 * sendmmsg is read at its entry, all its messages at once. The loader
 * attaches the entry programs of write, sendto and sendmsg below instead
 * only on a kernel without that tracepoint.
 */
SEC("tp_btf/sock_send_length")
int BPF_PROG(handle_send, struct sock *sk, int ret, int flags)
{
	if (!dns_port_count || sk->sk_protocol != IPPROTO_UDP)
		return 0;
	dns_sent(sk);
	return 0;
}

/* write(fd, buf, count), before Linux 6.3 */
SEC("tracepoint/syscalls/sys_enter_write")
int enter_write(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[2] < DNS_MIN_LEN)
		return 0; /* the cheapest test first: write is the hottest call */
	struct sock *sk;
	struct dns_msg *m = dns_start(ctx->args[0], NET_SYS_WRITE, &sk);
	if (!m)
		return 0;
	m->buf = ctx->args[1];
	m->len = ctx->args[2];
	dns_send(sk, m);
	return 0;
}

/* sendto(fd, buf, len, flags, addr, addrlen), before Linux 6.3 */
SEC("tracepoint/syscalls/sys_enter_sendto")
int enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[2] < DNS_MIN_LEN)
		return 0;
	struct sock *sk;
	struct dns_msg *m = dns_start(ctx->args[0], NET_SYS_SENDTO, &sk);
	if (!m)
		return 0;
	m->buf = ctx->args[1];
	m->len = ctx->args[2];
	m->name = ctx->args[4];
	m->namelen = ctx->args[5];
	dns_send(sk, m);
	return 0;
}

/* sendmsg(fd, msg, flags), before Linux 6.3 */
SEC("tracepoint/syscalls/sys_enter_sendmsg")
int enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct sock *sk;
	struct dns_msg *m = dns_start(ctx->args[0], NET_SYS_SENDMSG, &sk);

	if (m && msghdr_parts(m, (const struct user_msghdr *)ctx->args[1]))
		dns_send(sk, m);
	return 0;
}

/* sendmmsg(fd, vec, vlen, flags): the first DNS_MMSG_MAX messages */
SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int enter_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct sock *sk;
	struct dns_msg *m = dns_start(ctx->args[0], NET_SYS_SENDMMSG, &sk);

	if (!m)
		return 0;
	struct mmsg_walk w = {
		.sk = sk,
		.vec = (const struct mmsghdr *)ctx->args[1],
		.vlen = ctx->args[2],
	};
	bpf_loop(DNS_MMSG_MAX, mmsg_step, &w, 0);
	return 0;
}

/* Sockets put on another descriptor: dup, dup2, dup3 and fcntl(F_DUPFD*)
 * (redirect.bpf.h). */

/* Every redirecting call is reported at its exit, exit_<call>, alike. */
#define DUP_EXIT(call, sc)                                    \
	SEC("tracepoint/syscalls/sys_exit_" #call)            \
	int exit_##call(struct trace_event_raw_sys_exit *ctx) \
	{                                                     \
		report_dup(sc, ctx->ret);                     \
		return 0;                                     \
	}

/* dup2(old, new) and dup3(old, new, flags): enter_<call> and exit_<call> */
#define DUP_TO(call, sc)                                        \
	SEC("tracepoint/syscalls/sys_enter_" #call)             \
	int enter_##call(struct trace_event_raw_sys_enter *ctx) \
	{                                                       \
		begin_dup(sc, ctx->args[0], ctx->args[1]);      \
		return 0;                                       \
	}                                                       \
	DUP_EXIT(call, sc)

DUP_TO(dup2, NET_SYS_DUP2)
DUP_TO(dup3, NET_SYS_DUP3)

/* fcntl(fd, cmd, arg): F_DUPFD* returns the lowest free fd >= arg. */
SEC("tracepoint/syscalls/sys_enter_fcntl")
int enter_fcntl(struct trace_event_raw_sys_enter *ctx)
{
	long cmd = ctx->args[1];

	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		begin_dup(NET_SYS_FCNTL, ctx->args[0], ctx->args[2]);
	return 0;
}

DUP_EXIT(fcntl, NET_SYS_FCNTL)

/* dup(fd) returns the lowest free fd: 0, 1 or 2 once one of them is
 * closed. Only sockets are remembered. */
SEC("tracepoint/syscalls/sys_enter_dup")
int enter_dup(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = current_task();
	long fd = ctx->args[0];

	if (!fd_sock(fd) || !traced(task))
		return 0;
	struct pending p = { .syscall = NET_SYS_DUP, .args = { fd } };
	begin(&p, KIND_FD_REDIRECT);
	return 0;
}

DUP_EXIT(dup, NET_SYS_DUP)

/* Received bytes that start with a file magic (payload.bpf.h): the kernel
 * runs this tracepoint at the end of every receive on a socket, whatever
 * the call (read, readv, recv, recvfrom, recvmsg, recvmmsg), and only
 * there: reads of files pay nothing. */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(handle_recv, struct sock *sk, int ret, int flags)
{
	if (ret < MAGIC_LEN || (flags & MSG_PEEK))
		return 0; /* errors, EAGAIN, short reads; peeked bytes are seen when read */
	__u16 family = sk->__sk_common.skc_family;
	if (family == AF_INET || family == AF_INET6)
		check_recv(sk, ret);
	return 0;
}
