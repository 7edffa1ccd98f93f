//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Packet drop: ingress packets whose source address falls in a listed
 * prefix are dropped (an enforcing policy holds the prefix) or passed and
 * counted as would-drop (only monitoring policies hold it). One parser
 * serves an XDP program (the preferred hook: before the kernel allocates
 * an skb) and a tcx ingress program (where XDP cannot attach).
 *
 * There is no process context here, so a verdict is applied as it stands:
 * the agent writes a policy's bits only into the entries of the prefixes it
 * lists. Nothing goes to the ring buffer: a flood must not turn into a
 * flood of records. Every decision is counted per entry, per source address
 * (best effort, LRU) and per policy (enforce_hits).
 *
 * A packet that matches nothing costs the Ethernet/VLAN parse and one
 * array lookup (the class pre-filter) when no listed prefix is near its
 * source, one trie lookup more when one is; everything else comes only
 * after a match. Whatever cannot be
 * parsed within the bounds (truncated, unknown ethertype, a third VLAN tag)
 * passes: the kernel's own parsing will judge it.
 */
#include "enforce.bpf.h"
#include "xdpguard.h"
#include <bpf/bpf_endian.h>

/* not in vmlinux.h: they are macros */
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The LPM trie needs BPF_F_NO_PREALLOC; entries cost memory only when written. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XDP_MAX_PREFIXES);
	__type(key, struct lpm_v4_key);
	__type(value, struct src_entry);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdp_src_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XDP_MAX_PREFIXES);
	__type(key, struct lpm_v6_key);
	__type(value, struct src_entry);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdp_src_v6 SEC(".maps");

/* the class bitmaps of both families, word by word (xdpguard.h) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * XDP_CLASS_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdp_classes SEC(".maps");

/* per entry index; per-CPU so that a flood on many queues shares no line */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_MAX_PREFIXES);
	__type(key, __u32);
	__type(value, struct prefix_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdp_counters SEC(".maps");

/*
 * Per source address. BPF_F_NO_COMMON_LRU: each CPU evicts from its own
 * list, so a flood of spoofed sources takes no lock shared between CPUs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, XDP_MAX_TALKERS);
	__type(key, struct talker_key);
	__type(value, struct talker);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdp_talkers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LOST_COUNT);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdp_lost SEC(".maps");

/* The enums Go needs, which no map or program would put in BTF. */
struct xdp_wire_types {
	enum xdp_limits limits;
	enum lost_reason lost;
	enum xdp_family family;
	enum xdp_class_hash hash;
};

/* Never created: it anchors the wire types in BTF for bpf2go. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdp_wire_types);
} xdp_wire_types SEC(".maps");

/* What the parser concluded. */
enum judgement {
	JUDGE_PASS = 0,
	JUDGE_DROP = 1,
	JUDGE_SHORT = 2, /* the headers end past the linear data */
};

static __always_inline void count_lost(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&xdp_lost, &reason);

	if (n)
		*n += 1; /* per-CPU slot: no atomic needed */
}

static __always_inline void add(struct prefix_counters *c, bool drop, __u64 len)
{
	if (drop) {
		c->packets += 1;
		c->bytes += len;
	} else {
		c->would_drop += 1;
		c->would_drop_bytes += len;
	}
}

static __always_inline void count_talker(const struct talker_key *src, __u32 index, bool drop,
					 __u64 len)
{
	struct talker *t = bpf_map_lookup_elem(&xdp_talkers, src);

	if (!t) {
		struct talker fresh = { .index = index };

		add(&fresh.counters, drop, len);
		/* NOEXIST: a source another CPU inserted meanwhile keeps its
		 * counts; this CPU's slot of it starts at zero */
		if (!bpf_map_update_elem(&xdp_talkers, src, &fresh, BPF_NOEXIST))
			return;
		t = bpf_map_lookup_elem(&xdp_talkers, src);
		if (!t) {
			count_lost(LOST_TALKER);
			return;
		}
	}
	t->index = index;
	add(&t->counters, drop, len);
}

/* act applies a matched entry: drop or count as would-drop. */
static __always_inline enum judgement act(const struct src_entry *e, const struct talker_key *src,
					  __u64 len)
{
	struct enforce_hit hit;
	__u32 index = e->index;

	/* every policy is "mine": a packet has no task to scope policies to */
	if (!decide(&e->verdict, ~0ULL, ENFORCE_DENIED, &hit))
		return JUDGE_PASS;
	bool drop = hit.action == ENFORCE_DENIED;

	struct prefix_counters *c = bpf_map_lookup_elem(&xdp_counters, &index);
	if (c)
		add(c, drop, len);
	else
		count_lost(LOST_COUNTER);
	count_talker(src, index, drop, len);
	return drop ? JUDGE_DROP : JUDGE_PASS;
}

/* class_listed: whether a listed prefix may hold addresses of class. */
static __always_inline bool class_listed(enum xdp_family family, __u32 class)
{
	__u32 key = family * XDP_CLASS_WORDS + (class >> 6);
	__u64 *word = bpf_map_lookup_elem(&xdp_classes, &key);

	return word && (*word >> (class & 63)) & 1;
}

static __always_inline enum judgement judge_v4(struct iphdr *ip, void *end, __u64 len)
{
	if ((void *)(ip + 1) > end)
		return JUDGE_SHORT;
	if (!class_listed(XDP_FAMILY_V4, bpf_ntohl(ip->saddr) >> 16))
		return JUDGE_PASS;

	struct lpm_v4_key key = { .prefixlen = 32 };
	__builtin_memcpy(key.addr, &ip->saddr, sizeof(key.addr));
	struct src_entry *e = bpf_map_lookup_elem(&xdp_src_v4, &key);
	if (!e)
		return JUDGE_PASS;

	struct talker_key src = { .addr = { [10] = 0xff, [11] = 0xff } };
	__builtin_memcpy(&src.addr[12], key.addr, sizeof(key.addr));
	return act(e, &src, len);
}

static __always_inline enum judgement judge_v6(struct ipv6hdr *ip6, void *end, __u64 len)
{
	if ((void *)(ip6 + 1) > end)
		return JUDGE_SHORT;
	if (!class_listed(XDP_FAMILY_V6,
			  (bpf_ntohl(ip6->saddr.in6_u.u6_addr32[0]) * XDP_CLASS_HASH) >> 16))
		return JUDGE_PASS;

	struct lpm_v6_key key = { .prefixlen = 128 };
	__builtin_memcpy(key.addr, &ip6->saddr, sizeof(key.addr));
	struct src_entry *e = bpf_map_lookup_elem(&xdp_src_v6, &key);
	if (!e)
		return JUDGE_PASS;

	struct talker_key src;
	__builtin_memcpy(src.addr, key.addr, sizeof(src.addr));
	return act(e, &src, len);
}

/*
 * judge parses Ethernet, up to XDP_VLAN_MAX VLAN tags and the IPv4 or IPv6
 * header in [data, end) and applies the entry the source address matches.
 * len is the whole frame's length, for the byte counters.
 */
static __always_inline enum judgement judge(void *data, void *end, __u64 len)
{
	struct ethhdr *eth = data;
	void *next = eth + 1;

	if (next > end)
		return JUDGE_SHORT;
	__be16 proto = eth->h_proto;

	/* unrolled: a bounded number of tags, each bounds-checked on its own */
#pragma unroll
	for (int i = 0; i < XDP_VLAN_MAX; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct vlan_hdr *vh = next;

		if ((void *)(vh + 1) > end)
			return JUDGE_SHORT;
		proto = vh->h_vlan_encapsulated_proto;
		next = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return judge_v4(next, end, len);
	if (proto == bpf_htons(ETH_P_IPV6))
		return judge_v6(next, end, len);
	return JUDGE_PASS;
}

SEC("xdp")
int xdp_guard(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	/* not frags-aware: on a multi-buffer device the XDP attach fails and
	 * the agent falls back to tcx, so data..end is the whole frame */
	if (judge(data, end, end - data) == JUDGE_DROP)
		return XDP_DROP;
	return XDP_PASS;
}

/* The headers a judgement reads at most: Ethernet, two tags, IPv6. */
#define HEADERS_MAX \
	(sizeof(struct ethhdr) + XDP_VLAN_MAX * sizeof(struct vlan_hdr) + sizeof(struct ipv6hdr))

SEC("tcx/ingress")
int tc_guard(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	enum judgement j = judge(data, end, skb->len);

	/* An skb may carry its headers outside the linear part (paged data):
	 * pull them in once and look again, rather than pass a listed source. */
	if (j == JUDGE_SHORT && skb->len > end - data) {
		__u32 want = skb->len < HEADERS_MAX ? skb->len : HEADERS_MAX;

		if (!bpf_skb_pull_data(skb, want)) {
			data = (void *)(long)skb->data;
			end = (void *)(long)skb->data_end;
			j = judge(data, end, skb->len);
		}
	}
	/* pass on to the next tcx program (TCX_NEXT), not straight up the stack */
	return j == JUDGE_DROP ? TCX_DROP : TCX_NEXT;
}
