/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The record header and the record kinds every record starts with; bpf2go
 * generates their Go twins (internal/sensor/ring). Types only: the kernel
 * side (ring buffer, loss counters) is common.bpf.h, which includes
 * vmlinux.h before this file.
 */
#pragma once

/* Record kinds on the wire. Go names them in internal/event. */
enum record_kind {
	KIND_NONE = 0,
	KIND_PROCESS_EXEC = 1,
	KIND_PROCESS_EXIT = 2,
	KIND_PROCESS_FORK = 3,
	KIND_PROCESS_RENAME = 4, /* a process changed its comm after exec */
	KIND_PROCESS_SIGNAL = 5, /* a fatal or stopping signal sent to another process */

	KIND_FILE_XATTR = 9, /* the file sensor's; 10..19 are taken */
	KIND_FILE_OPEN = 10,
	KIND_FILE_UNLINK = 11,
	KIND_FILE_RENAME = 12,
	KIND_FILE_CHMOD = 13,
	KIND_FILE_CHOWN = 14,
	KIND_FILE_LINK = 15,
	KIND_FILE_SYMLINK = 16,
	KIND_FILE_TRUNCATE = 17,
	KIND_FILE_MKDIR = 18,
	KIND_MEMFD_CREATE = 19,

	KIND_NET_CONNECT = 20,
	KIND_NET_ACCEPT = 21,
	KIND_NET_LISTEN = 22,
	KIND_NET_BIND = 23,
	KIND_NET_SOCKET = 24,
	KIND_NET_CLOSE = 25,
	KIND_DNS_QUERY = 26,
	KIND_FD_REDIRECT = 27,
	KIND_NET_PAYLOAD = 28, /* received bytes that start with a file magic */

	KIND_PRIVILEGE_CHANGE = 30,
	KIND_PTRACE = 31,
	KIND_PROCESS_VM_WRITEV = 32,
	KIND_NAMESPACE_CHANGE = 33,
	KIND_MOUNT = 34,
	KIND_UMOUNT = 35,
	KIND_CHROOT = 36,
	KIND_PIVOT_ROOT = 37,
	KIND_MODULE_LOAD = 38,
	KIND_MODULE_UNLOAD = 39,
	KIND_BPF_LOAD = 40,
	KIND_KEXEC_LOAD = 41,
	KIND_USERFAULTFD = 42,
	KIND_PERSONALITY = 43,

	/* io_uring (internal/sensor/iouring): a ring set up, and requests that
	 * become the file_open and net_connect events of the other sensors */
	KIND_IO_URING_CREATE = 44,
	KIND_IO_URING_OPEN = 45,
	KIND_IO_URING_CONNECT = 46,

	/* enforcement: what a policy did (bpf/lib/enforce.h) */
	KIND_ENFORCE_EXEC = 50,
	KIND_ENFORCE_FILE = 51,
	KIND_ENFORCE_NET = 52,
	KIND_ENFORCE_MODULE = 53,
	KIND_EXEC_HOLD = 54,   /* a binary stopped until user space hashes it */
	KIND_ENFORCE_LSM = 55, /* a BPF LSM hook refused an operation */

	/* performance observers (internal/observe/<name>) */
	KIND_OOM_KILL = 60, /* the OOM killer chose a victim */

	KIND_COUNT = 64, /* room for the sensors to come; sizes the drops map */
};

/* Why data was lost. Each (reason, kind) pair has its own counter. */
enum drop_reason {
	DROP_RINGBUF_FULL = 0, /* the record was not delivered */
	DROP_TRUNCATED = 1,    /* delivered, but a string or argv was cut */
	DROP_MAP_FULL = 2,     /* a tracking map had no room: state was lost */
	DROP_REASON_COUNT = 3,
};

/* Starts every record. `size` is the record's full length in bytes. */
struct record_header {
	__u16 kind;
	__u16 flags;
	__u32 size;
	__u64 ktime;	 /* bpf_ktime_get_boot_ns() when the record was made */
	__u32 pid;	 /* tgid of the process the record is about */
	__u32 tid;	 /* thread id of the same */
	__u64 cgroup_id; /* its cgroup v2 id */
};
