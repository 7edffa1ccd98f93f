/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Keys and values of the pod scope object; bpf2go generates their Go twins.
 * Only fixed-width types, explicit padding.
 */
#pragma once

#define POD_UID_LEN 36	    /* 8-4-4-4-12 hex digits and dashes */
#define POD_SCOPES_MAX 8192 /* pods the agent knows on its node (kubelet: 110 by default) */

/* A pod's uid as Kubernetes writes it (lower-case, '-' separated), no NUL:
 * the key of pod_scopes, the value of pod_cgroups. The systemd driver's '_'
 * are turned back into '-'. */
struct pod_uid {
	__u8 uid[POD_UID_LEN];
};

#define CONTAINER_ID_LEN 64 /* hex digits */
#define CONTAINER_SCOPES_MAX 16384

/* A container's id (64 lower-case hex digits, no NUL): the key of
 * container_scopes, the value of container_cgroups. */
struct container_id {
	__u8 id[CONTAINER_ID_LEN];
};

/* podscope_stats indices */
enum podscope_stat {
	PODSCOPE_MKDIR_SEEN =
		0,	     /* pod- or container-named cgroups of the default hierarchy created */
	PODSCOPE_SCOPED = 1, /* of those, scoped at once (their pod or container had policies) */
	PODSCOPE_UPDATE_FAILED = 2, /* a map had no room */
	PODSCOPE_STAT_COUNT = 3,
};
