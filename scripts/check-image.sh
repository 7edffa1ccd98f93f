#!/usr/bin/env bash
# check-image.sh: `make image` twice must give the same bytes, and the
# archive must import into containerd.
#
# The second build starts from no outputs (bin/vigil-static and the tarball
# removed; the Go build cache is what makes it quick, and Go's builds are
# reproducible whether cached or not). The import runs against a containerd
# of our own (temporary root, state and socket, CRI plugin off), so it
# touches no containerd the machine runs; without containerd and ctr it
# skips with the reason, except under CI=true, where it installs Debian's
# containerd package.
set -euo pipefail
cd "$(dirname "$0")/.."
tar=bin/vigil-image.tar

# the same version and date for both builds, even if the tree changes meanwhile
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
build() {
	rm -f bin/vigil-static "$tar"
	make -s image VERSION="$version" SOURCE_DATE_EPOCH="$epoch" >/dev/null
	sha256sum "$tar" | cut -d' ' -f1
}
t0=$SECONDS
a=$(build)
b=$(build)
if [ "$a" != "$b" ]; then
	echo "check-image: two builds differ: $a and $b" >&2
	exit 1
fi
echo "check-image: two builds are byte-identical: sha256 $a ($((SECONDS - t0)) s)"

if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
	if [ "${CI:-}" != true ]; then
		echo "check-image: SKIP import: no containerd/ctr here (apt-get install containerd; CI=true installs it)"
		exit 0
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd >/dev/null
fi
[ "$(id -u)" = 0 ] || { echo "check-image: SKIP import: containerd needs root"; exit 0; }

dir=$(mktemp -d /tmp/vigil-image-check.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	# the content store's files are plain files (no mounts without a snapshot)
	rm -rf "$dir"
}
trap cleanup EXIT
cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[debug]
  address = "$dir/debug.sock"
EOF
containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
	[ -S "$dir/containerd.sock" ] && ctr --address "$dir/containerd.sock" version >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat "$dir/containerd.log" >&2; exit 1; }
	sleep 0.2
done
ctr() { command ctr --address "$dir/containerd.sock" -n k8s.io "$@"; }
ctr image import --no-unpack "$tar"
ctr image ls -q | grep -qx 'docker.io/library/vigil:dev' || {
	echo "check-image: vigil:dev not listed after import:" >&2
	ctr image ls >&2
	exit 1
}
ctr image check | grep vigil
echo "check-image: imported into containerd $(containerd --version | awk '{print $3}') as docker.io/library/vigil:dev"
