#!/usr/bin/env bash
# Assembles the root file system of the container tools/detect/detect.sh
# runs the event-generator in (DETECT_CONTAINER=1), from what this machine
# has, with no registry:
#
#   container-rootfs.sh ROOTFS EVENT_GENERATOR [TOOL...]
#
# /event-generator (the static binary, the container's process 1), Debian's
# static busybox with every applet linked in /bin (sh, cat, grep, awk, find,
# wget, mount, base64, ...), and each TOOL found in PATH (capsh, debugfs,
# apt-get, scp, nmap, nc, ...) copied with the shared libraries ldd names for
# it; a TOOL that is not there is left out (the action that needs it then
# reports "skipped"). /etc is a distribution image's: the system accounts of
# Debian's base-passwd (root, daemon, bin, …, www-data, nobody) in passwd,
# group and shadow (mode 0640), one user (app, uid 1000) with
# a home below /home holding .ssh, and the hosts file of the container's
# network (example.com, example.net).
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

# copy FILE: FILE at the same path in the root, its symlink chain kept
# link by link (/usr/bin/nc -> /etc/alternatives/nc -> /bin/nc.openbsd).
copy() {
	local f=$1 t
	while [ -L "$f" ]; do
		mkdir -p "$root$(dirname "$f")"
		cp -P "$f" "$root$f"
		t=$(readlink "$f")
		case $t in
		/*) f=$t ;;
		*) f=$(dirname "$f")/$t ;;
		esac
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

# The accounts of a Debian image (base-passwd) and a user of the image's own.
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
games:x:5:60:games:/usr/games:/usr/sbin/nologin
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin
mail:x:8:8:mail:/var/mail:/usr/sbin/nologin
news:x:9:9:news:/var/spool/news:/usr/sbin/nologin
proxy:x:13:13:proxy:/bin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
backup:x:34:34:backup:/var/backups:/usr/sbin/nologin
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
app:x:1000:1000:app:/home/app:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
news:x:9:
man:x:12:
proxy:x:13:
kmem:x:15:
sudo:x:27:
www-data:x:33:
backup:x:34:
shadow:x:42:
utmp:x:43:
staff:x:50:
games:x:60:
users:x:100:
nogroup:x:65534:
app:x:1000:
EOF
# every account locked, as an image's are
cut -d: -f1 "$root/etc/passwd" | sed 's/$/:*:19700:0:99999:7:::/' >"$root/etc/shadow"
cut -d: -f1 "$root/etc/group" | sed 's/$/:*::/' >"$root/etc/gshadow"
# (scripts/k8s/mkimage.sh makes every file root's: group root, not shadow)
chmod 0640 "$root/etc/shadow" "$root/etc/gshadow"
mkdir -p "$root/home/app/.ssh"
: >"$root/home/app/.ssh/known_hosts"
chmod 0700 "$root/home/app/.ssh"
printf '127.0.0.1 localhost\n192.0.2.10 example.com\n192.0.2.11 example.net\n' >"$root/etc/hosts"
printf 'hosts: files\n' >"$root/etc/nsswitch.conf"
: >"$root/etc/resolv.conf"
# apt-get --version wants a dpkg system to describe.
mkdir -p "$root/etc/apt/apt.conf.d" "$root/var/lib/dpkg"
: >"$root/var/lib/dpkg/status"
