#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# images.sh -- the two images the lab's pods use, built here (no registry is
# reachable): $K8S_BUSYBOX_IMAGE, a root file system of Debian's static
# busybox with every applet linked, and $K8S_PAUSE_IMAGE, a static pause
# (pause.c) for pod sandboxes. Each is a one-layer OCI archive in
# $K8S_IMAGES that `ctr -n k8s.io image import` loads; built only when missing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"
mkdir -p "$K8S_IMAGES"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -s "$K8S_IMAGES/busybox.tar" ]; then
	bb=$(command -v busybox)
	if ldd "$bb" >/dev/null 2>&1; then
		echo "images: $bb is linked dynamically; the image needs Debian's busybox-static" >&2
		exit 1
	fi
	r=$work/busybox
	mkdir -p "$r"/{bin,etc,proc,sys,dev,tmp,root,var,run}
	cp "$bb" "$r/bin/busybox"
	for a in $("$r/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
	echo 'root:x:0:' >"$r/etc/group"
	chmod 1777 "$r/tmp"
	"$HERE/mkimage.sh" "$r" "$K8S_BUSYBOX_IMAGE" "$K8S_IMAGES/busybox.tar.tmp" /bin/sh
	mv "$K8S_IMAGES/busybox.tar.tmp" "$K8S_IMAGES/busybox.tar"
fi

if [ ! -s "$K8S_IMAGES/pause.tar" ]; then
	mkdir -p "$work/pause"
	gcc -Os -static -o "$work/pause/pause" "$HERE/pause.c"
	"$HERE/mkimage.sh" "$work/pause" "$K8S_PAUSE_IMAGE" "$K8S_IMAGES/pause.tar.tmp" /pause
	mv "$K8S_IMAGES/pause.tar.tmp" "$K8S_IMAGES/pause.tar"
fi
echo "images in $K8S_IMAGES: $K8S_BUSYBOX_IMAGE $K8S_PAUSE_IMAGE"
