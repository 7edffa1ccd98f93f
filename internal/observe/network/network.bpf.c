//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The network observer: TCP round-trip time and connect latency histograms,
 * retransmits and resets per cgroup v2.
 *
 * Every hook here may run in softirq context, where current is whichever
 * task the packet interrupted, so a socket is charged to the cgroup it
 * was created in (sk_cgrp_data), never to current. An accepted socket
 * inherits its listener's.
 *
 * tcp_probe runs for every segment received, so it does as little as it
 * can: the socket is a typed (tp_btf) pointer, read with plain loads (no
 * bpf_probe_read_kernel per field), and while no remote port is watched
 * (watched_port_count is 0) no hook reads a port or looks one up.
 */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "observe.bpf.h"
#include "network.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096); /* the loader sets the real size */
	__type(key, __u64);
	__type(value, struct net_stats);
} stats SEC(".maps");

/* When each connecting socket sent its SYN, by socket address. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} syn_sent SEC(".maps");

const struct net_stats zero_net_stats = {};

/* The remote ports whose figures are also kept apart (observe.network.
 * remote_ports), host byte order; Go fills it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_MAX_PORTS);
	__type(key, __u16);
	__type(value, __u8);
} watched_ports SEC(".maps");

/* The figures of watched ports, by (cgroup, remote port). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, NET_PORT_ENTRIES);
	__type(key, struct net_port_key);
	__type(value, struct net_port_stats);
} ports SEC(".maps");

/* (cgroup, port) samples ports had no room for. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} port_losses SEC(".maps");

const struct net_port_stats zero_net_port_stats = {};

/* How many ports watched_ports holds; Go sets it after each change of the
 * map (a run-time global, not a const volatile knob: it changes while the
 * programs run). */
volatile __u32 watched_port_count;

static __always_inline struct net_stats *sock_stats(const struct sock *sk)
{
	__u64 id = sock_cgroup_id(sk);

	return id ? obs_stats(&stats, id, &zero_net_stats) : NULL;
}

/* sock_port_stats is the figures of sk's cgroup for its remote port, when
 * that port is watched; NULL otherwise (or when there is no room). */
static __always_inline struct net_port_stats *sock_port_stats(const struct sock *sk)
{
	struct net_port_key key = {};
	struct net_port_stats *ps;
	__u32 zero = 0;
	__u64 *lost;

	if (!watched_port_count)
		return NULL;
	key.port = bpf_ntohs(sk->__sk_common.skc_dport);
	if (!bpf_map_lookup_elem(&watched_ports, &key.port))
		return NULL;
	key.cgroup = sock_cgroup_id(sk);
	if (!key.cgroup)
		return NULL;
	ps = bpf_map_lookup_elem(&ports, &key);
	if (ps)
		return ps;
	bpf_map_update_elem(&ports, &key, &zero_net_port_stats, BPF_NOEXIST);
	ps = bpf_map_lookup_elem(&ports, &key);
	if (!ps) {
		lost = bpf_map_lookup_elem(&port_losses, &zero);
		if (lost)
			*lost += 1; /* per-CPU slot */
	}
	return ps;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(tcp_probe, struct sock *sk, const struct sk_buff *skb)
{
	/* a typed tcp_sock (NULL only if sk were not a full TCP socket) */
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	struct net_port_stats *ps;
	struct net_stats *st;
	__u32 srtt;

	if (!tp)
		return 0;
	srtt = tp->srtt_us >> 3; /* stored as 8 x srtt */
	if (!srtt)
		return 0;
	st = sock_stats(sk);
	if (st)
		obs_observe(&st->rtt, (__u64)srtt * 1000);
	ps = sock_port_stats(sk);
	if (ps)
		obs_observe(&ps->rtt, (__u64)srtt * 1000);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	__u64 key = (__u64)sk, now, *sent;
	struct net_port_stats *ps;
	struct net_stats *st;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_SYN_SENT) {
		now = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&syn_sent, &key, &now, BPF_ANY))
			obs_lose(OBS_LOSS_PENDING_FULL);
		return 0;
	}
	if (oldstate != TCP_SYN_SENT)
		return 0;
	sent = bpf_map_lookup_elem(&syn_sent, &key);
	if (!sent)
		return 0;
	now = bpf_ktime_get_ns();
	if (newstate == TCP_ESTABLISHED && now > *sent) {
		st = sock_stats(sk);
		if (st)
			obs_observe(&st->connect, now - *sent);
		ps = sock_port_stats(sk);
		if (ps)
			obs_observe(&ps->connect, now - *sent);
	}
	bpf_map_delete_elem(&syn_sent, &key);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb, const struct sock *sk)
{
	struct net_stats *st = sock_stats(sk);
	struct net_port_stats *ps;

	if (st)
		st->retransmits += 1;
	ps = sock_port_stats(sk);
	if (ps)
		ps->retransmits += 1;
	return 0;
}

/* A reset sent for a segment that matched no socket has no sk: nobody's. */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcp_send_reset, const struct sock *sk)
{
	struct net_stats *st;

	if (!sk)
		return 0;
	st = sock_stats(sk);
	if (st)
		st->resets += 1;
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tcp_receive_reset, struct sock *sk)
{
	struct net_stats *st = sock_stats(sk);

	if (st)
		st->resets += 1;
	return 0;
}
