/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packet-drop tables and counters; bpf2go generates their Go twins.
 * Only fixed-width types, explicit padding.
 */
#pragma once

#include "enforce.h"

/* Sizes; the loader may change the first two (Options). */
enum xdp_limits {
	XDP_MAX_PREFIXES = 16384, /* source prefixes, IPv4 and IPv6 together */
	XDP_MAX_TALKERS = 8192,	  /* source addresses whose drops are counted */
	XDP_VLAN_MAX = 2,	  /* VLAN tags parsed (802.1Q, 802.1AD) */
	XDP_CLASS_WORDS = 1024,	  /* 64-bit words of a family's class bitmap: 65536 classes */
};

/*
 * Classes: a pre-filter in front of the tries, so that a packet from a
 * source near no listed prefix costs an (inlined) array lookup instead of
 * a trie walk. An IPv4 address's class is its /16; an IPv6 address's is a
 * hash of its /32 (XDP_CLASS_HASH, top 16 bits of the product). User space
 * sets the bit of every class a listed prefix touches (all of them for an
 * IPv6 prefix shorter than /16) before writing the prefix, and clears bits
 * only after the prefixes that needed them are gone: a clear bit means
 * that no listed prefix can match.
 */
enum xdp_class_hash {
	XDP_CLASS_HASH = 0x9E3779B1U, /* 2^32 / golden ratio: Knuth's multiplicative hash */
};

enum xdp_family {
	XDP_FAMILY_V4 = 0, /* words 0..XDP_CLASS_WORDS-1 of xdp_classes */
	XDP_FAMILY_V6 = 1,
};

/*
 * LPM trie keys: the source address in network byte order, as the packet
 * holds it. prefixlen is the entry's CIDR length (32 / 128 for a lookup).
 */
struct lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct lpm_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/*
 * The value of a source prefix. User space folds into each entry the
 * verdicts of the shorter prefixes that contain it, so the longest match
 * answers for all of them. index names the entry's slot in xdp_counters;
 * user space assigns it and keeps it while the prefix stays listed. bits
 * is the prefix's length, which a trie lookup does not return: user space
 * tells with it whether a lookup found the prefix or a shorter one.
 */
struct src_entry {
	struct verdict verdict;
	__u32 index;
	__u32 bits;
};

/* What one entry (or one source address) did, per CPU. Bytes are whole
 * frames from the Ethernet header on. */
struct prefix_counters {
	__u64 packets; /* dropped: an enforcing policy holds the entry */
	__u64 bytes;
	__u64 would_drop; /* passed: only monitoring policies hold it */
	__u64 would_drop_bytes;
};

/* A source address; IPv4 as ::ffff:a.b.c.d. */
struct talker_key {
	__u8 addr[16];
};

struct talker {
	struct prefix_counters counters;
	__u32 index; /* the entry it last matched */
	__u32 pad;
};

/* Slots of xdp_lost: what could not be counted. */
enum lost_reason {
	LOST_TALKER = 0,  /* xdp_talkers refused an entry: the drop is counted per prefix only */
	LOST_COUNTER = 1, /* an entry's index had no slot: counted nowhere but enforce_hits */
	LOST_COUNT = 2,
};
