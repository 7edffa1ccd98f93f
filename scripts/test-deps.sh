#!/usr/bin/env bash
# What `make test` needs beyond Go, checked before the suite runs: root, the
# kernel interfaces (BTF, tracefs, bpffs, cgroup v2) and the programs the
# kernel and end-to-end tests run (runc and busybox-static for real
# containers, iproute2 for network namespaces). Under CI=true, or with
# VIGIL_TEST_INSTALL=1, missing Debian packages are installed; otherwise the
# script names what is missing and the tests that need it skip with that
# reason (under CI=true they would fail instead).
set -uo pipefail

missing=()   # human-readable gaps
packages=()  # Debian packages that close them

want_cmd() { # command package why
	command -v "$1" >/dev/null 2>&1 && return
	missing+=("$1 ($3; Debian package $2)")
	packages+=("$2")
}

truthy() { case "${1:-}" in 1 | true | TRUE | True) return 0 ;; esac; return 1; }

if [ "$(id -u)" != 0 ]; then
	echo "test-deps: not root: kernel and end-to-end tests will skip (run make test as root)" >&2
	exit 0
fi

[ -r /sys/kernel/btf/vmlinux ] || missing+=("kernel BTF at /sys/kernel/btf/vmlinux (CO-RE needs it; not installable)")
want_cmd runc runc "real containers in the container-identity and agent tests"
want_cmd busybox busybox-static "the static root file system of those containers"
want_cmd ip iproute2 "network namespaces and veth pairs in the network tests"

if [ ${#packages[@]} -gt 0 ] && { truthy "${CI:-}" || truthy "${VIGIL_TEST_INSTALL:-}"; }; then
	echo "test-deps: installing ${packages[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	if apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }; then
		missing=()
		packages=()
		[ -r /sys/kernel/btf/vmlinux ] || missing+=("kernel BTF at /sys/kernel/btf/vmlinux")
	fi
fi

# The agent mounts these itself; the tests load programs without it.
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null ||
	missing+=("tracefs at /sys/kernel/tracing (mount -t tracefs tracefs /sys/kernel/tracing)")
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null ||
	missing+=("bpffs at /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)")
grep -qw cgroup2 /proc/mounts || missing+=("a cgroup v2 mount (cgroup2 in /proc/mounts)")

if [ ${#missing[@]} -gt 0 ]; then
	echo "test-deps: missing, the tests that need it will skip (CI=true: fail):" >&2
	printf '  - %s\n' "${missing[@]}" >&2
	[ ${#packages[@]} -gt 0 ] && echo "  install: apt-get install ${packages[*]}  (or: VIGIL_TEST_INSTALL=1 make test)" >&2
	truthy "${CI:-}" && exit 1
fi
exit 0
