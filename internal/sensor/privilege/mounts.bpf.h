/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* mount, move_mount, umount, chroot and pivot_root. */
#pragma once

#include "record.bpf.h"
#include "path.bpf.h"

#define AT_FDCWD -100
#define MS_BIND 4096
#define MS_MOVE 8192
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define PATH_ARG_MAX 4096 /* PATH_MAX */
#define FSTYPE_MAX 256

static __always_inline bool relative(struct blob *b, struct str_ref *ref)
{
	return ref->len && blob_first_byte(b, ref) != '/';
}

/* from_mount fills source and fstype from the mount a descriptor holds
 * (move_mount of a detached mount made by fsmount or open_tree). */
static __always_inline void from_mount(union record *r, struct blob *b, __u32 *used,
				       struct task_struct *task, long fd)
{
	struct file *f = task_fd_file(task, fd);
	struct vfsmount *mnt = BPF_CORE_READ(f, f_path.mnt);

	if (!f || !mnt)
		return;
	if (!blob_kstr(b, used, &r->mount.source, BPF_CORE_READ(real_mount(mnt), mnt_devname),
		       PATH_ARG_MAX))
		r->call.flags |= PRIV_STR_CUT;
	if (!blob_kstr(b, used, &r->mount.fstype, BPF_CORE_READ(mnt, mnt_sb, s_type, name),
		       FSTYPE_MAX))
		r->call.flags |= PRIV_STR_CUT;
}

/* base_dir appends the directory relative paths start from: the working
 * directory, or the directory open as dfd. */
static __always_inline bool base_dir(__u32 *used, struct str_ref *ref, struct task_struct *task,
				     long dfd)
{
	if (dfd == AT_FDCWD)
		return blob_path(used, ref, BPF_CORE_READ(task, fs, pwd.dentry),
				 BPF_CORE_READ(task, fs, pwd.mnt));
	struct file *f = task_fd_file(task, dfd);

	if (!f) {
		ref->off = *used;
		ref->len = 0;
		return true;
	}
	return blob_file_path(used, ref, f);
}

/* save_entry_cwd keeps the working directory at the entry of a call. */
static __always_inline void save_entry_cwd(struct task_struct *task, __u64 key)
{
	struct blob *b = blob_get();
	struct str_ref ref;
	__u32 used = 0;

	if (!b)
		return;
	bool whole = blob_path(&used, &ref, BPF_CORE_READ(task, fs, pwd.dentry),
			       BPF_CORE_READ(task, fs, pwd.mnt));
	/* the blob is at least as large as the value, whose data it fills */
	if (bpf_map_update_elem(&entry_paths, &key, b->data, BPF_ANY))
		return; /* the exit resolves against its own directory, flagged */
	struct entry_path *ep = bpf_map_lookup_elem(&entry_paths, &key);

	if (ep) {
		ep->len = used < ENTRY_PATH_MAX ? used : ENTRY_PATH_MAX;
		ep->whole = whole && used <= ENTRY_PATH_MAX;
	}
}

/* entry_cwd appends the directory save_entry_cwd kept, and forgets it. */
static __always_inline bool entry_cwd(struct blob *b, __u32 *used, struct str_ref *ref)
{
	__u64 key = bpf_get_current_pid_tgid();
	struct entry_path *ep = bpf_map_lookup_elem(&entry_paths, &key);
	__u32 room = blob_room(*used, ENTRY_PATH_MAX);

	ref->off = *used;
	ref->len = 0;
	if (!ep)
		return false;
	__u32 len = ep->len < room ? ep->len : room;
	bool whole = ep->whole && len == ep->len;

	/* len <= ENTRY_PATH_MAX < BLOB_USED_MAX and used < BLOB_USED_MAX:
	 * the masks only show the verifier that both ends are in bounds */
	len &= 2 * ENTRY_PATH_MAX - 1;
	if (len && !bpf_probe_read_kernel(&b->data[*used & BLOB_OFF_MASK], len, ep->data)) {
		ref->len = len;
		*used += len;
	}
	bpf_map_delete_elem(&entry_paths, &key);
	return whole;
}

static __always_inline void emit_mount(struct task_struct *task, struct call_entry *in, long ret)
{
	union record *r = begin(sizeof(struct mount_info), task, in, ret);
	struct blob *b = blob_get();
	const char *src = NULL, *dst = NULL, *fstype = NULL;
	long dfd = AT_FDCWD;
	bool src_is_path = false;
	__u32 used = 0;

	if (!r || !b)
		return;
	switch (in->call) {
	case CALL_MOUNT: /* (source, target, fstype, flags, data) */
		src = (const char *)in->args[0];
		dst = (const char *)in->args[1];
		fstype = (const char *)in->args[2];
		src_is_path = in->args[3] & (MS_BIND | MS_MOVE);
		break;
	case CALL_MOVE_MOUNT: /* (from_dfd, from_path, to_dfd, to_path, flags) */
		src = (const char *)in->args[1];
		dst = (const char *)in->args[3];
		dfd = in->args[2];
		break;
	case CALL_PIVOT_ROOT: /* (new_root, put_old) */
		src = (const char *)in->args[0];
		src_is_path = true;
		/* fall through */
	case CALL_UMOUNT: /* (target, flags) */
	case CALL_CHROOT: /* (path) */
		dst = (const char *)in->args[in->call == CALL_PIVOT_ROOT ? 1 : 0];
		break;
	default:
		break;
	}
	note_ustr(r, blob_ustr(b, &used, &r->mount.target, dst, PATH_ARG_MAX));
	note_ustr(r, blob_ustr(b, &used, &r->mount.source, src, PATH_ARG_MAX));
	note_ustr(r, blob_ustr(b, &used, &r->mount.fstype, fstype, FSTYPE_MAX));
	if (in->call == CALL_MOVE_MOUNT && (in->args[4] & MOVE_MOUNT_F_EMPTY_PATH))
		from_mount(r, b, &used, task, in->args[0]);

	if (in->call == CALL_PIVOT_ROOT) {
		/* its relative paths were relative to the directory at entry */
		if (!entry_cwd(b, &used, &r->mount.base) &&
		    (relative(b, &r->mount.target) || relative(b, &r->mount.source)))
			r->call.flags |= PRIV_STR_CUT;
	} else if (relative(b, &r->mount.target) ||
		   (src_is_path && relative(b, &r->mount.source))) {
		if (!base_dir(&used, &r->mount.base, task, dfd))
			r->call.flags |= PRIV_STR_CUT;
	}
	if (in->call == CALL_CHROOT && ret == 0 &&
	    !blob_path(&used, &r->mount.resolved, BPF_CORE_READ(task, fs, root.dentry),
		       BPF_CORE_READ(task, fs, root.mnt)))
		r->call.flags |= PRIV_STR_CUT;
	finish(r, sizeof(struct mount_info), b, used);
}
