#!/usr/bin/env bash
# What `make test` needs beyond Go, checked before the suite runs: root, the
# kernel interfaces (BTF, tracefs, bpffs, cgroup v2) and the programs the
# kernel and end-to-end tests run (runc and busybox-static for real
# containers, iproute2 for network namespaces) and the Kubernetes lab's
# (internal/testenv/kubelab: containerd, the CNI plugins, gcc for the pause
# image, openssl, curl, and the Kubernetes components that scripts/k8s/build.sh
# builds from the Go module proxy into a cache outside the tree). Under
# CI=true, or with VIGIL_TEST_INSTALL=1, missing Debian packages are
# installed and the components built (12-15 minutes once, then cached);
# otherwise the script names what is missing and the tests that need it skip
# with that reason (under CI=true they would fail instead).
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
want_cmd setcap libcap2-bin "file capabilities set by the real setcap in the file sensor tests"
# the Kubernetes lab (scripts/k8s)
want_cmd containerd containerd "the Kubernetes lab's container runtime"
want_cmd gcc gcc "the Kubernetes lab's static pause image"
want_file() { # path package why
	[ -e "$1" ] && return
	missing+=("$1 ($3; Debian package $2)")
	packages+=("$2")
}
want_file /usr/lib/cni/bridge containernetworking-plugins "the Kubernetes lab's pod network"
if ! dpkg-query -W -f '${Status}' libc6-dev 2>/dev/null | grep -q 'ok installed'; then
	missing+=("libc6-dev (gcc -static for the Kubernetes lab's pause image)")
	packages+=(libc6-dev)
fi
want_cmd openssl openssl "the Kubernetes lab's certificates"
want_cmd curl curl "the Kubernetes lab's readiness checks"

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

# The Kubernetes components: built under CI (or VIGIL_TEST_INSTALL=1), only
# named otherwise (make k8s); cached in ~/.cache/vigil-k8s across runs.
k8s_bin=$(bash "$(dirname "$0")/k8s/env.sh" | sed -n 's/^VIGIL_K8S_BIN=//p')
k8s_missing=()
for c in $(bash "$(dirname "$0")/k8s/env.sh" | sed -n 's/^K8S_CLUSTER_COMPONENTS=//p'); do
	[ -x "$k8s_bin/$c" ] || k8s_missing+=("$c")
done
if [ ${#k8s_missing[@]} -gt 0 ]; then
	if truthy "${CI:-}" || truthy "${VIGIL_TEST_INSTALL:-}"; then
		echo "test-deps: building Kubernetes ${k8s_missing[*]} into $k8s_bin (once; 12-15 minutes on 2 idle cores, longer under load)" >&2
		"$(dirname "$0")/k8s/build.sh" >&2 || missing+=("Kubernetes components in $k8s_bin (scripts/k8s/build.sh failed)")
	else
		missing+=("Kubernetes ${k8s_missing[*]} in $k8s_bin (the Kubernetes lab tests; make k8s builds them)")
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
