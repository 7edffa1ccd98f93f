/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What every enforcement record and table carries: actions, verdicts, the
 * hit a program reports and the shared state. bpf2go generates their Go
 * twins (internal/enforce/pinned); the kernel side is enforce.bpf.h.
 */
#pragma once

enum enforce_action {
	ENFORCE_NONE = 0,
	ENFORCE_KILLED = 1,	/* SIGKILL sent by the kernel program */
	ENFORCE_WOULD_KILL = 2, /* monitor mode: reported, not killed */
	ENFORCE_DENIED = 3,	/* the operation failed with EPERM */
	ENFORCE_WOULD_DENY = 4, /* monitor mode: reported, allowed */
	ENFORCE_HELD = 5,	/* stopped until user space decides (exec by hash) */
	ENFORCE_ACTION_COUNT = 6,
};

/* The value of every deny entry: policy bit sets. */
struct verdict {
	__u64 enforce; /* policies in enforce mode that hold this entry */
	__u64 monitor; /* policies in monitor mode that hold it */
};

/* What a program decided, carried by every enforcement record. */
struct enforce_hit {
	__u32 policy; /* the lowest policy number that applied */
	__u16 action; /* enum enforce_action */
	__u16 pad;
};

struct enforce_state {
	__u64 host;	    /* host-wide policies */
	__u64 hash_hold;    /* policies that hold unknown binaries for hashing */
	__u64 heartbeat_ns; /* boot-clock time of the agent's last sign of life */
	__u32 scoped;	    /* non-zero when scope_cgroups has entries */
	__u32 pad;
};
