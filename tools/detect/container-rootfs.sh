#!/usr/bin/env bash
# Assembles the root file system of the container tools/detect/detect.sh
# runs the event-generator in (DETECT_CONTAINER=1), from what this machine
# has, with no registry:
#
#   container-rootfs.sh ROOTFS EVENT_GENERATOR [TOOL...]
#
# /event-generator (the static binary, the container's process 1), Debian's
# static busybox with every applet linked in /bin (sh, cat, grep, awk, nc,
# wget, mount, base64, ...), and each TOOL found in PATH (capsh, debugfs,
# apt-get, scp, nmap, ...) copied with the shared libraries ldd names for
# it; a TOOL that is not there is left out (the action that needs it then
# reports "skipped"). /etc holds root's passwd and group entries and the
# hosts file of the container's network (example.com, example.net).
set -euo pipefail
root=$1
egen=$2
shift 2

bb=$(command -v busybox) || { echo "container-rootfs: needs busybox (Debian: busybox-static)" >&2; exit 1; }
if ldd "$bb" >/dev/null 2>&1; then
	echo "container-rootfs: $bb is linked dynamically; Debian's busybox-static is needed" >&2
	exit 1
fi
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/lib,usr/lib64,etc,tmp,root,proc,sys,dev,run,var/tmp}
# Merged /usr, as Debian's: the libraries' paths ldd prints hold in the root.
ln -sfn usr/lib "$root/lib"
ln -sfn usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp" "$root/var/tmp"
cp "$egen" "$root/event-generator"
cp "$bb" "$root/bin/busybox"
# one process for the ~400 links (a fork each is slow on a loaded machine)
chroot "$root" /bin/busybox --install -s /bin

# copy FILE: FILE at the same path in the root, its symlink chain kept.
copy() {
	local f=$1
	while [ -L "$f" ]; do
		mkdir -p "$root$(dirname "$f")"
		cp -P "$f" "$root$f"
		f=$(readlink -f "$f")
	done
	mkdir -p "$root$(dirname "$f")"
	cp "$f" "$root$f"
}
for t in "$@"; do
	p=$(command -v "$t" 2>/dev/null) || { echo "container-rootfs: no $t here, left out" >&2; continue; }
	# /usr/bin/X and /bin/X: the tool wins over busybox's applet of that name.
	rm -f "$root/bin/$t" "$root/sbin/$t"
	copy "$p"
	for lib in $(ldd "$p" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[ -e "$lib" ] && copy "$lib"
	done
done
# Data files some tools read (nmap's services and scripts' lists).
[ -d /usr/share/nmap ] && mkdir -p "$root/usr/share" && cp -r /usr/share/nmap "$root/usr/share/"

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf '127.0.0.1 localhost\n192.0.2.10 example.com\n192.0.2.11 example.net\n' >"$root/etc/hosts"
printf 'hosts: files\n' >"$root/etc/nsswitch.conf"
: >"$root/etc/resolv.conf"
# apt-get --version wants a dpkg system to describe.
mkdir -p "$root/etc/apt/apt.conf.d" "$root/var/lib/dpkg"
: >"$root/var/lib/dpkg/status"
