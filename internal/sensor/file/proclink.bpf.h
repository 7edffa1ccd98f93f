/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Write-opens through /proc's magic links. /proc/PID/exe and /proc/PID/fd/N
 * are not paths but links to a file the kernel holds (a process's
 * executable, the file of an open descriptor): an open through one reaches
 * that file wherever it is, out of the caller's mount namespace too. A
 * write-open of one is how CVE-2019-5736 overwrote the host's runc from a
 * container (/proc/self/exe, or /proc/self/fd/N of an O_PATH descriptor of
 * runc's /proc/PID/exe). The kernel's path of the opened file says where the
 * open went, the argument says how: an open for writing whose argument names
 * such a link is reported, watched or not, with the argument as given in
 * path2 (FILE_PROC_LINK) beside the kernel's path of what it reached (or,
 * for a failed open, the argument path, as for every failed open).
 *
 * The argument is the caller's memory, read after the kernel walked its own
 * copy: a second thread can change it in between and so hide an open from
 * this check, never make one up (the check only ever adds a report; what the
 * open reached is still judged by its kernel path, as every open is). Only
 * absolute arguments are matched: "self/fd/1" from a cwd in /proc is not.
 * The price for an open that is not one: an 8-byte read of the argument,
 * for opens for writing only.
 */
#pragma once

#include "decide.bpf.h"

#define PROC_LINK_CAP 48 /* bytes of the argument looked at, its NUL included */

/* "/proc/" as a little-endian word's low six bytes */
#define PROC_PREFIX 0x2f636f72702fULL
#define PROC_PREFIX_MASK 0xffffffffffffULL

enum proc_link_state {
	PL_PID,	      /* the first byte of the process's name */
	PL_PID_DIGIT, /* in a pid */
	PL_LINK,      /* after "PID/": "exe" or "fd/" */
	PL_E,	      /* "e" seen */
	PL_EX,	      /* "ex" seen */
	PL_EXE,	      /* "exe" seen: the NUL must follow */
	PL_F,	      /* "f" seen */
	PL_FD,	      /* "fd" seen */
	PL_FD_SLASH,  /* "fd/" seen: a digit must follow */
	PL_FD_DIGIT,  /* in a descriptor number */
	PL_NO,	      /* not a magic link */
};

static __always_inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* proc_link_name: is a (NUL-terminated within PROC_LINK_CAP) exactly
 * /proc/(self|thread-self|PID)/(exe|fd/N)? Every byte is read at a constant
 * index, the progress kept in a state. */
static __always_inline bool proc_link_name(const char *a)
{
	__u32 skip = 6, st = PL_PID; /* after "/proc/" */

	if (a[6] == 's' && a[7] == 'e' && a[8] == 'l' && a[9] == 'f' && a[10] == '/') {
		skip = 11;
		st = PL_LINK;
	} else if (a[6] == 't' && a[7] == 'h' && a[8] == 'r' && a[9] == 'e' && a[10] == 'a' &&
		   a[11] == 'd' && a[12] == '-' && a[13] == 's' && a[14] == 'e' && a[15] == 'l' &&
		   a[16] == 'f' && a[17] == '/') {
		skip = 18;
		st = PL_LINK;
	}
#pragma unroll
	for (__u32 i = 6; i < PROC_LINK_CAP; i++) {
		char c = a[i];

		if (i < skip)
			continue;
		switch (st) {
		case PL_PID:
			st = is_digit(c) ? PL_PID_DIGIT : PL_NO;
			break;
		case PL_PID_DIGIT:
			st = is_digit(c) ? PL_PID_DIGIT : c == '/' ? PL_LINK : PL_NO;
			break;
		case PL_LINK:
			st = c == 'e' ? PL_E : c == 'f' ? PL_F : PL_NO;
			break;
		case PL_E:
			st = c == 'x' ? PL_EX : PL_NO;
			break;
		case PL_EX:
			st = c == 'e' ? PL_EXE : PL_NO;
			break;
		case PL_EXE:
			return c == 0;
		case PL_F:
			st = c == 'd' ? PL_FD : PL_NO;
			break;
		case PL_FD:
			st = c == '/' ? PL_FD_SLASH : PL_NO;
			break;
		case PL_FD_SLASH:
			st = is_digit(c) ? PL_FD_DIGIT : PL_NO;
			break;
		case PL_FD_DIGIT:
			if (c == 0)
				return true;
			st = is_digit(c) ? PL_FD_DIGIT : PL_NO;
			break;
		default:
			return false;
		}
	}
	return false;
}

/*
 * proc_link_open: an open for writing whose argument upath names a /proc
 * magic link is reported: the argument goes into path2 (FILE_PROC_LINK) and,
 * when the open succeeded (fd >= 0) and the file it reached is not watched
 * (ops 0), the kernel's path and inode of that file into path, as decide_fd
 * writes them for a watched one. A failed open's path is its argument
 * already (decide_arg). Returns the ops to report with: ops, or WATCH_WRITE
 * for a magic link; 0 when the open is not reported.
 */
__noinline __u32 proc_link_open(long fd, __u64 upath, __u32 ops)
{
	__u64 w = 0;

	/* the cheap test first: most paths do not start with "/proc/" */
	if (!upath || bpf_probe_read_user(&w, sizeof(w), (const void *)upath) ||
	    (w & PROC_PREFIX_MASK) != PROC_PREFIX)
		return ops;

	char a[PROC_LINK_CAP] = {};
	long n = bpf_probe_read_user_str(a, sizeof(a), (const void *)upath);

	if (n <= 0 || !proc_link_name(a))
		return ops;
	if (fd >= 0 && !ops)
		decide_fd(fd, WATCH_WRITE, 1, 1);

	struct env e;

	if (!env_get(&e))
		return ops;
	struct file_info *info = &e.s->info;

	/* an alias's watched name holds path2 already: the open is reported
	 * with it */
	if (!(info->info & FILE_ALIAS)) {
		__u32 base = next_base(&info->path);

		if (n > PROC_LINK_CAP)
			n = PROC_LINK_CAP; /* for the verifier: the read stopped there */
		/* base < PATH_CAP + 2 * KEY_SLOT: the copy stays inside the blob */
		if (!bpf_probe_read_kernel(&e.b->data[base & BLOB_OFF_MASK], n, a)) {
			info->path2.off = base;
			info->path2.len = n;
			info->info |= FILE_PROC_LINK;
		}
	}
	return ops ? ops : WATCH_WRITE;
}
