//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Network deny: cgroup v2 sock_addr hooks that refuse a connect, an
 * unconnected UDP datagram or a bind with EPERM when a deny entry matches
 * and a policy that governs the caller holds it in enforce mode; in monitor
 * mode the call goes through and is reported.
 *
 * The programs are attached host-wide (the cgroup v2 root) and run for
 * every such call on the host, so the common case, a call that matches no
 * entry, is kept to one array lookup plus one trie lookup per populated
 * (protocol, port) class: the exemption and policy checks, which walk the
 * caller's cgroup ancestors, come only after an entry matched (the order
 * changes no outcome: an exempt or ungoverned caller is allowed either way).
 * Nothing that matches no entry, or that no policy of the caller holds,
 * reaches the ring buffer.
 */
#include "enforce.bpf.h"
#include "netguard.h"
#include <bpf/bpf_endian.h>

/* not in vmlinux.h: they are macros */
#define AF_INET 2
#define AF_INET6 10

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A deny table: an LPM trie of max entries keyed by key_type. The trie needs
 * BPF_F_NO_PREALLOC; entries cost memory only when written. */
#define NET_DENY_TRIE(name, max, key_type)            \
	struct {                                      \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);  \
		__uint(max_entries, max);             \
		__type(key, key_type);                \
		__type(value, struct net_entry);      \
		__uint(map_flags, BPF_F_NO_PREALLOC); \
		__uint(pinning, LIBBPF_PIN_BY_NAME);  \
	} name SEC(".maps")

NET_DENY_TRIE(net_deny4, NET_DENY_MAX, struct net_key4);
NET_DENY_TRIE(net_deny6, NET_DENY_MAX, struct net_key6);
NET_DENY_TRIE(net_bind_deny4, NET_BIND_MAX, struct net_key4);
NET_DENY_TRIE(net_bind_deny6, NET_BIND_MAX, struct net_key6);

/* enum net_table → which (protocol, port) classes of that table have entries */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NET_TABLE_COUNT);
	__type(key, __u32);
	__type(value, struct net_port_bits);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} net_ports SEC(".maps");

struct net_wire_types {
	struct net_record record;
	enum record_kind kind;
	enum net_op op;
	enum net_proto proto;
	enum net_table table;
	enum net_flag flag;
};

/* Never created: it anchors the wire types in BTF for bpf2go. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_wire_types);
} net_wire_types SEC(".maps");

/* What a hook is asked to judge. */
struct net_call {
	__u32 addr[4];	/* network order; IPv4 (or the mapped IPv4) in addr[0] */
	__u32 table;	/* enum net_table */
	__u16 port;	/* network order */
	__u16 family;	/* the socket's */
	__u16 protocol; /* the socket's */
	__u8 op;
	__u8 flags;
	__u32 orig[4]; /* the address as the caller gave it, for the record */
};

/* The entries of the four (protocol, port) classes, most specific first. */
enum {
	CLASS_PROTO_PORT,
	CLASS_PROTO_ANY,
	CLASS_ANY_PORT,
	CLASS_ANY_ANY,
	CLASS_COUNT
};

static __always_inline bool port_bit(const __u64 *words, __u16 port)
{
	/* port is 16 bits, so port >> 6 < NET_PORT_WORDS: no bound check needed */
	return words[port >> 6] & (1ULL << (port & 63));
}

static __always_inline const struct net_entry *lookup(const struct net_call *c, __u8 proto,
						      __u16 port)
{
	if (c->table == NET_TABLE_CONNECT4 || c->table == NET_TABLE_BIND4) {
		struct net_key4 k = {
			.prefixlen = NET_KEY_HEAD_BITS + 32,
			.proto = proto,
			.port = port,
		};
		__builtin_memcpy(k.addr, &c->addr[0], 4);
		return bpf_map_lookup_elem(c->table == NET_TABLE_CONNECT4 ? (void *)&net_deny4
									  : (void *)&net_bind_deny4,
					   &k);
	}
	struct net_key6 k = {
		.prefixlen = NET_KEY_HEAD_BITS + 128,
		.proto = proto,
		.port = port,
	};
	__builtin_memcpy(k.addr, c->addr, 16);
	return bpf_map_lookup_elem(
		c->table == NET_TABLE_CONNECT6 ? (void *)&net_deny6 : (void *)&net_bind_deny6, &k);
}

static __always_inline void report(const struct net_call *c, const struct enforce_hit *hit,
				   const struct net_entry *e, __u8 proto, __u16 port)
{
	struct net_record *r = reserve_fixed(sizeof(*r), KIND_ENFORCE_NET);
	__u64 id = bpf_get_current_pid_tgid();

	if (!r)
		return;
	r->hdr.kind = KIND_ENFORCE_NET;
	r->hdr.flags = 0;
	r->hdr.size = sizeof(*r);
	r->hdr.ktime = bpf_ktime_get_boot_ns();
	r->hdr.pid = id >> 32;
	r->hdr.tid = (__u32)id;
	r->hdr.cgroup_id = bpf_get_current_cgroup_id();
	r->hit = *hit;
	r->op = c->op;
	r->flags = c->flags;
	r->family = c->family;
	r->protocol = c->protocol;
	r->port = bpf_ntohs(c->port);
	__builtin_memcpy(r->addr, c->orig, 16);
	r->match.family = (c->table == NET_TABLE_CONNECT4 || c->table == NET_TABLE_BIND4)
				  ? AF_INET
				  : AF_INET6;
	r->match.proto = proto;
	r->match.pad = 0;
	r->match.port = bpf_ntohs(port);
	r->match.bits = e ? e->bits : 0;
	submit_fixed(r, sizeof(*r));
}

/* whether entry e holds bit in its enforce or monitor set */
#define ENTRY_HAS(e, field, bit) ((e) && ((e)->verdict.field & (bit)))

/*
 * judge returns 1 (go on) or 0 (EPERM). Entries of up to four classes can
 * match; their verdicts are merged, so a monitoring entry never hides an
 * enforcing one. The record names the most specific class that holds the
 * deciding policy.
 */
static __always_inline int judge(const struct net_call *c)
{
	__u32 table = c->table;
	struct net_port_bits *ports = bpf_map_lookup_elem(&net_ports, &table);

	if (!ports)
		return 1;

	__u8 proto = c->protocol == IPPROTO_TCP	  ? NET_PROTO_TCP
		     : c->protocol == IPPROTO_UDP ? NET_PROTO_UDP
						  : NET_PROTO_ANY;
	const __u64 *own = proto == NET_PROTO_TCP   ? ports->tcp
			   : proto == NET_PROTO_UDP ? ports->udp
						    : NULL;
	__u16 hport = bpf_ntohs(c->port);
	const struct net_entry *e[CLASS_COUNT] = {};

	/* port 0 is the any-port class itself: look it up once */
	if (own && hport && port_bit(own, hport))
		e[CLASS_PROTO_PORT] = lookup(c, proto, c->port);
	if (own && port_bit(own, 0))
		e[CLASS_PROTO_ANY] = lookup(c, proto, 0);
	if (hport && port_bit(ports->any, hport))
		e[CLASS_ANY_PORT] = lookup(c, NET_PROTO_ANY, c->port);
	if (port_bit(ports->any, 0))
		e[CLASS_ANY_ANY] = lookup(c, NET_PROTO_ANY, 0);

	struct verdict v = {};
	for (int i = 0; i < CLASS_COUNT; i++) {
		if (e[i]) {
			v.enforce |= e[i]->verdict.enforce;
			v.monitor |= e[i]->verdict.monitor;
		}
	}
	if (!(v.enforce | v.monitor))
		return 1;

	if (exempt(bpf_get_current_pid_tgid() >> 32))
		return 1;
	struct enforce_state *cfg = enforce_cfg();
	if (!cfg)
		return 1;
	struct enforce_hit hit = {};
	if (!decide(&v, current_policies(cfg), ENFORCE_DENIED, &hit))
		return 1;

	__u64 bit = 1ULL << (hit.policy &
			     63); /* policy < 64 already; the mask keeps the shift defined */
	bool enforced = hit.action == ENFORCE_DENIED;
	if (enforced ? ENTRY_HAS(e[CLASS_PROTO_PORT], enforce, bit)
		     : ENTRY_HAS(e[CLASS_PROTO_PORT], monitor, bit))
		report(c, &hit, e[CLASS_PROTO_PORT], proto, c->port);
	else if (enforced ? ENTRY_HAS(e[CLASS_PROTO_ANY], enforce, bit)
			  : ENTRY_HAS(e[CLASS_PROTO_ANY], monitor, bit))
		report(c, &hit, e[CLASS_PROTO_ANY], proto, 0);
	else if (enforced ? ENTRY_HAS(e[CLASS_ANY_PORT], enforce, bit)
			  : ENTRY_HAS(e[CLASS_ANY_PORT], monitor, bit))
		report(c, &hit, e[CLASS_ANY_PORT], NET_PROTO_ANY, c->port);
	else
		report(c, &hit, e[CLASS_ANY_ANY], NET_PROTO_ANY, 0);
	return enforced ? 0 : 1;
}

/* Starts c with what every hook takes from its context; the hook fills in
 * the addresses. */
static __always_inline void start_call(struct net_call *c, struct bpf_sock_addr *ctx, __u8 op,
				       __u32 table, __u8 flags)
{
	*c = (struct net_call){
		.table = table,
		.port = (__u16)ctx->user_port,
		.family = ctx->family,
		.protocol = ctx->protocol,
		.op = op,
		.flags = flags,
	};
}

static __always_inline int judge4(struct bpf_sock_addr *ctx, __u8 op, __u32 table)
{
	struct net_call c;

	start_call(&c, ctx, op, table, 0);
	c.addr[0] = ctx->user_ip4;
	if (c.family == AF_INET6) {
		/* udpv6_sendmsg hands a mapped destination to the IPv4 path */
		c.flags = NET_V4_MAPPED;
		c.orig[2] = bpf_htonl(0xffff);
		c.orig[3] = c.addr[0];
	} else {
		c.orig[0] = c.addr[0];
	}
	return judge(&c);
}

/*
 * An IPv6 socket reaches IPv4 peers through ::ffff:a.b.c.d, and the kernel
 * then runs no IPv4 hook: the IPv4 rules are applied here, or an IPv4 deny
 * would be bypassed by opening an AF_INET6 socket.
 */
static __always_inline int judge6(struct bpf_sock_addr *ctx, __u8 op, __u32 table4, __u32 table6)
{
	struct net_call c;

	start_call(&c, ctx, op, table6, NET_HOOK6);
	c.orig[0] = ctx->user_ip6[0];
	c.orig[1] = ctx->user_ip6[1];
	c.orig[2] = ctx->user_ip6[2];
	c.orig[3] = ctx->user_ip6[3];
	if (c.orig[0] == 0 && c.orig[1] == 0 && c.orig[2] == bpf_htonl(0xffff)) {
		c.table = table4;
		c.flags |= NET_V4_MAPPED;
		c.addr[0] = c.orig[3];
	} else {
		__builtin_memcpy(c.addr, c.orig, 16);
	}
	return judge(&c);
}

/* The IPv4 and IPv6 hooks of one call, net_<call>4 and net_<call>6: op's
 * programs, judging by table4 and table6. */
#define NET_HOOKS(call, op, table4, table6)             \
	SEC("cgroup/" #call "4")                        \
	int net_##call##4(struct bpf_sock_addr * ctx)   \
	{                                               \
		return judge4(ctx, op, table4);         \
	}                                               \
	SEC("cgroup/" #call "6")                        \
	int net_##call##6(struct bpf_sock_addr * ctx)   \
	{                                               \
		return judge6(ctx, op, table4, table6); \
	}

NET_HOOKS(connect, NET_OP_CONNECT, NET_TABLE_CONNECT4, NET_TABLE_CONNECT6)
/* unconnected UDP only: a connected socket was judged at connect */
NET_HOOKS(sendmsg, NET_OP_SENDMSG, NET_TABLE_CONNECT4, NET_TABLE_CONNECT6)
NET_HOOKS(bind, NET_OP_BIND, NET_TABLE_BIND4, NET_TABLE_BIND6)
