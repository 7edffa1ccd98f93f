#!/usr/bin/env bash
# shellcheck disable=SC2034 # the settings are for the scripts that source this one
# The Kubernetes lab's settings, in one place. Sourced by the other scripts in
# scripts/k8s; run on its own it prints them as KEY=VALUE lines (the Go
# harness, internal/testenv/kubelab, reads them from there).
#
#   VIGIL_K8S_VERSION  Kubernetes release built from the Go module proxy (v1.35.4)
#   VIGIL_K8S_CACHE    build cache, kept across runs ($HOME/.cache/vigil-k8s)
#   VIGIL_K8S_BIN      the binaries ($VIGIL_K8S_CACHE/build-$VIGIL_K8S_VERSION/bin)
#   VIGIL_K8S_STATE    everything a running lab has: pki, etcd data, containerd,
#                      kubelet root, logs, pid files (/tmp/vigil-k8s)
#
# Every server listens on 127.0.0.1 only, on fixed ports (API server 6443,
# etcd 2379/2380, kubelet 10250): one lab per machine, serialized by an
# exclusive flock on $VIGIL_K8S_STATE/lock.
VIGIL_K8S_VERSION=${VIGIL_K8S_VERSION:-v1.35.4}
VIGIL_K8S_CACHE=${VIGIL_K8S_CACHE:-$HOME/.cache/vigil-k8s}
VIGIL_K8S_BIN=${VIGIL_K8S_BIN:-$VIGIL_K8S_CACHE/build-$VIGIL_K8S_VERSION/bin}
VIGIL_K8S_STATE=${VIGIL_K8S_STATE:-/tmp/vigil-k8s}
VIGIL_K8S_NODE=${VIGIL_K8S_NODE:-$(hostname | tr '[:upper:]' '[:lower:]')}

K8S_RUN=$VIGIL_K8S_STATE/run          # pid files and logs
K8S_PKI=$VIGIL_K8S_STATE/pki          # CA, certificates, tokens, kubeconfigs
K8S_IMAGES=$VIGIL_K8S_STATE/images    # image archives built locally (busybox, pause)
K8S_CD=$VIGIL_K8S_STATE/containerd    # containerd's config, root, state and socket
K8S_CRI_SOCKET=$K8S_CD/containerd.sock
K8S_CNI=$VIGIL_K8S_STATE/cni          # CNI config and IPAM state
K8S_KUBELET=$VIGIL_K8S_STATE/kubelet  # kubelet root dir, config, pod logs
# kubectl's discovery cache, which would go to ~/.kube/cache
export KUBECACHEDIR=$VIGIL_K8S_STATE/kubectl-cache
K8S_BRIDGE=vigilk8s0                  # the CNI bridge
K8S_POD_CIDR=10.244.0.0/24
K8S_SERVER=https://127.0.0.1:6443
K8S_BUSYBOX_IMAGE=docker.io/library/busybox:vigil
K8S_PAUSE_IMAGE=registry.k8s.io/pause:3.10

# what each mode needs from the build
K8S_APISERVER_COMPONENTS="etcd kube-apiserver kubectl"
K8S_CLUSTER_COMPONENTS="$K8S_APISERVER_COMPONENTS kube-controller-manager kube-scheduler kubelet"

# k8s_guard: refuse to touch the lab while someone else holds its lock (a
# test's lab), unless the caller holds it (VIGIL_K8S_LOCK_HELD=1: the Go
# harness, its watchdog, .ci/run under flock).
k8s_guard() {
	[ "${VIGIL_K8S_LOCK_HELD:-}" = 1 ] && return 0
	mkdir -p "$VIGIL_K8S_STATE"
	if ! flock -n "$VIGIL_K8S_STATE/lock" true; then
		echo "$(basename "$0"): $VIGIL_K8S_STATE/lock is held: a test's lab runs (the last to take it was pid $(cat "$VIGIL_K8S_STATE/lock" 2>/dev/null))" >&2
		exit 1
	fi
}

# k8s_alive PID: the process exists and is not a zombie (PID 1 here can be
# slow to reap the orphans these daemons become).
k8s_alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# k8s_wait SECONDS CMD...: run CMD every 0.2 s until it succeeds or the time is up.
k8s_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# k8s_stop NAME: end the process recorded in $K8S_RUN/NAME.pid (SIGTERM, then
# SIGKILL after 20 s), only if it still runs the executable recorded beside it.
k8s_stop() {
	local f=$K8S_RUN/$1.pid p exe i
	[ -f "$f" ] || return 0
	p=$(cat "$f")
	exe=$(cat "$K8S_RUN/$1.exe" 2>/dev/null || true)
	if [ -n "$p" ] && k8s_alive "$p" && [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$exe" ]; then
		kill "$p" 2>/dev/null || true
		for i in $(seq 100); do k8s_alive "$p" || break; sleep 0.2; done
		if k8s_alive "$p"; then kill -9 "$p" 2>/dev/null || true; fi
		echo "stopped $1 (pid $p)"
	fi
	rm -f "$f" "$K8S_RUN/$1.exe"
}

# k8s_daemon NAME EXE ARGS...: start EXE in its own session, detached from
# the caller's descriptors, output to $K8S_RUN/NAME.log, pid recorded.
k8s_daemon() {
	local name=$1 exe=$2
	shift 2
	mkdir -p "$K8S_RUN"
	setsid "$exe" "$@" </dev/null >"$K8S_RUN/$name.log" 2>&1 &
	echo $! >"$K8S_RUN/$name.pid"
	readlink -f "$exe" >"$K8S_RUN/$name.exe"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	for v in VIGIL_K8S_VERSION VIGIL_K8S_CACHE VIGIL_K8S_BIN VIGIL_K8S_STATE VIGIL_K8S_NODE \
		K8S_RUN K8S_PKI K8S_IMAGES K8S_CRI_SOCKET K8S_SERVER K8S_BUSYBOX_IMAGE K8S_PAUSE_IMAGE \
		K8S_APISERVER_COMPONENTS K8S_CLUSTER_COMPONENTS; do
		echo "$v=${!v}"
	done
fi
