//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The pod scope: a new pod's cgroup is scoped the moment it is created.
 *
 * Pod-scoped policies (namespace, podSelector) are resolved by user space,
 * which learns pods from the Kubernetes watch and finds their cgroups under
 * the cgroup2 mount. The kubelet creates a pod's cgroup after the API server
 * has the pod, usually after vigil's watch delivered it, but the agent's walk
 * of the cgroup tree may come only after the pod's first container started.
 * So user space writes, for every pod it knows, the policy bits that pod's
 * cgroup must carry into pod_scopes (keyed by the pod's uid) before the
 * cgroup exists, and this program, on cgroup_mkdir, recognises a pod's
 * cgroup by its name and ORs those bits into scope_cgroups at once: a
 * process placed in the cgroup later is governed from its first exec.
 *
 * Names recognised (the leaf only):
 *   cgroupfs driver: "pod" + uid                       (pod0f1e…-…)
 *   systemd driver:  "…-pod" + uid with '_' + ".slice" (kubepods-burstable-pod0f1e…_….slice)
 *
 * Containers the same way, for policies that name containers
 * (containerSelector): user space writes the bits of every container whose
 * id it knows into container_scopes (the CRI reports a container's id when
 * it is created, before the runtime makes its cgroup at start), and a
 * cgroup named after that id is scoped at its creation:
 *   "<id>" (containerd, cgroupfs), "cri-containerd-<id>.scope",
 *   "crio-<id>[.scope]", "docker-<id>[.scope]"
 * Only the default (v2) hierarchy counts: the scope test reads v2 cgroups.
 * pod_cgroups and container_cgroups remember which cgroup ids this program
 * scoped for which pod or container, so that user space, reconciling
 * scope_cgroups from its own walk, keeps them even when its walk ran before
 * the cgroup existed.
 */
#include "common.bpf.h"
#include "enforce.bpf.h"
#include "podscope.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* longest leaf name read: "kubepods-besteffort-pod<36>.slice" is 65 bytes;
 * a power of two so that an index masked with NAME_BUF - 1 is in bounds */
#define NAME_BUF 128
#define SLICE_SUFFIX_LEN 6 /* ".slice" */

/* pod uid → the policy bits its cgroup carries; written by user space for
 * every pod it knows, before the pod's cgroup exists */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POD_SCOPES_MAX);
	__type(key, struct pod_uid);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pod_scopes SEC(".maps");

/* cgroup id → the pod whose bits this program put there. LRU: entries of
 * removed cgroups are dropped by user space with their pod, and at worst
 * pushed out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, POD_SCOPES_MAX);
	__type(key, __u64);
	__type(value, struct pod_uid);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pod_cgroups SEC(".maps");

/* container id → the policy bits its cgroup carries */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CONTAINER_SCOPES_MAX);
	__type(key, struct container_id);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} container_scopes SEC(".maps");

/* cgroup id → the container whose bits this program put there */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CONTAINER_SCOPES_MAX);
	__type(key, __u64);
	__type(value, struct container_id);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} container_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PODSCOPE_STAT_COUNT);
	__type(key, enum podscope_stat); /* anchors the enum for bpf2go */
	__type(value, __u64);
} podscope_stats SEC(".maps");

/* where the leaf name is read: too large for comfort on the stack */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[NAME_BUF]);
} podscope_name SEC(".maps");

static __always_inline void stat_inc(enum podscope_stat i)
{
	__u64 *n = bpf_map_lookup_elem(&podscope_stats, &i);

	if (n)
		*n += 1;
}

static __always_inline bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/*
 * uid_at copies the uid that starts at name[start] into out, checking its
 * shape: hex digits, and sep ('-' or '_') at 8, 13, 18 and 23. Every index is
 * masked to the buffer, which the verifier needs for a variable start; the
 * caller has checked start + POD_UID_LEN <= the name's length.
 */
static __always_inline bool uid_at(const char *name, __u32 start, char sep, struct pod_uid *out)
{
#pragma unroll
	for (int i = 0; i < POD_UID_LEN; i++) {
		char c = name[(start + i) & (NAME_BUF - 1)];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != sep)
				return false;
			c = '-';
		} else if (!is_hex(c)) {
			return false;
		}
		out->uid[i] = c;
	}
	return true;
}

/*
 * pod_uid_of: the uid a pod cgroup's leaf name carries, in either driver's
 * form (see the top); len is the name's length. The Go twin is
 * podscope.ParsePodCgroup, fuzzed; the kernel test holds them together.
 */
static __always_inline bool pod_uid_of(const char *name, __u32 len, struct pod_uid *out)
{
	const __u32 cgroupfs = 3 + POD_UID_LEN;
	const __u32 systemd = 3 + POD_UID_LEN + SLICE_SUFFIX_LEN;

	if (len == cgroupfs)
		return name[0] == 'p' && name[1] == 'o' && name[2] == 'd' &&
		       uid_at(name, 3, '-', out);
	/* a name that filled the buffer may have been cut: never a match */
	if (len < systemd || len >= NAME_BUF - 1)
		return false;
	__u32 p = len - systemd; /* where "pod" starts */

	/* "pod" is the whole prefix or follows a '-' (kubepods-…-pod) */
	if (p > 0 && name[(p - 1) & (NAME_BUF - 1)] != '-')
		return false;
	if (name[p & (NAME_BUF - 1)] != 'p' || name[(p + 1) & (NAME_BUF - 1)] != 'o' ||
	    name[(p + 2) & (NAME_BUF - 1)] != 'd')
		return false;
	__u32 s = len - SLICE_SUFFIX_LEN;

	if (name[s & (NAME_BUF - 1)] != '.' || name[(s + 1) & (NAME_BUF - 1)] != 's' ||
	    name[(s + 2) & (NAME_BUF - 1)] != 'l' || name[(s + 3) & (NAME_BUF - 1)] != 'i' ||
	    name[(s + 4) & (NAME_BUF - 1)] != 'c' || name[(s + 5) & (NAME_BUF - 1)] != 'e')
		return false;
	return uid_at(name, p + 3, '_', out);
}

/* has_prefix: name starts with the p bytes of want */
static __always_inline bool has_prefix(const char *name, const char *want, __u32 p)
{
#pragma unroll
	for (int i = 0; i < 15; i++) {
		if (i >= p)
			break;
		if (name[i] != want[i])
			return false;
	}
	return true;
}

/*
 * container_id_of: the id a container cgroup's leaf name carries (see the
 * top); len is the name's length. The Go twin is
 * podscope.ParseContainerCgroup.
 */
static __always_inline bool container_id_of(const char *name, __u32 len, struct container_id *out)
{
	__u32 end = len;

	if (len > 6 && name[(len - 6) & (NAME_BUF - 1)] == '.' &&
	    name[(len - 5) & (NAME_BUF - 1)] == 's' && name[(len - 4) & (NAME_BUF - 1)] == 'c' &&
	    name[(len - 3) & (NAME_BUF - 1)] == 'o' && name[(len - 2) & (NAME_BUF - 1)] == 'p' &&
	    name[(len - 1) & (NAME_BUF - 1)] == 'e')
		end = len - 6;
	if (end < CONTAINER_ID_LEN || end >= NAME_BUF - 1)
		return false;
	__u32 p = end - CONTAINER_ID_LEN;

	switch (p) {
	case 0:
		break;
	case 5:
		if (!has_prefix(name, "crio-", 5))
			return false;
		break;
	case 7:
		if (!has_prefix(name, "docker-", 7))
			return false;
		break;
	case 15:
		if (!has_prefix(name, "cri-containerd-", 15))
			return false;
		break;
	default:
		return false;
	}
#pragma unroll
	for (int i = 0; i < CONTAINER_ID_LEN; i++) {
		char c = name[(p + i) & (NAME_BUF - 1)];

		if (!is_hex(c))
			return false;
		out->id[i] = c;
	}
	return true;
}

/* scope ORs bits into scope_cgroups[id], after recording who asked in
 * record (pod_cgroups or container_cgroups) under key: user space, reading
 * the record after its own walk, must not miss an entry this program is
 * about to add. */
static __always_inline void scope(__u64 id, __u64 bits, void *record, const void *key)
{
	__u64 *have = bpf_map_lookup_elem(&scope_cgroups, &id);
	__u64 mask = bits | (have ? *have : 0);

	if (bpf_map_update_elem(record, &id, key, BPF_ANY) ||
	    bpf_map_update_elem(&scope_cgroups, &id, &mask, BPF_ANY)) {
		stat_inc(PODSCOPE_UPDATE_FAILED);
		return;
	}
	stat_inc(PODSCOPE_SCOPED);
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(podscope_mkdir, struct cgroup *cgrp, const char *path)
{
	__u32 zero = 0;
	struct pod_uid pod = {};
	struct container_id ctr = {};
	__u64 *bits;
	char *name;
	__u32 len;
	long n;

	/* hierarchy 0 is the default (v2) one, as /proc/PID/cgroup's "0::" */
	if (BPF_CORE_READ(cgrp, root, hierarchy_id) != 0)
		return 0;
	name = bpf_map_lookup_elem(&podscope_name, &zero);
	if (!name)
		return 0;
	n = bpf_probe_read_kernel_str(name, NAME_BUF, BPF_CORE_READ(cgrp, kn, name));
	if (n <= 1)
		return 0;
	len = (__u32)(n - 1);
	if (pod_uid_of(name, len, &pod)) {
		stat_inc(PODSCOPE_MKDIR_SEEN);
		bits = bpf_map_lookup_elem(&pod_scopes, &pod);
		if (bits && *bits)
			scope(BPF_CORE_READ(cgrp, kn, id), *bits, &pod_cgroups, &pod);
		return 0;
	}
	if (container_id_of(name, len, &ctr)) {
		stat_inc(PODSCOPE_MKDIR_SEEN);
		bits = bpf_map_lookup_elem(&container_scopes, &ctr);
		if (bits && *bits)
			scope(BPF_CORE_READ(cgrp, kn, id), *bits, &container_cgroups, &ctr);
	}
	return 0;
}
