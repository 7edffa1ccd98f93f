#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# start.sh [apiserver|cluster] -- starts the lab on 127.0.0.1 from a clean
# state (whatever an earlier lab left is stopped and removed first):
#   apiserver: etcd and kube-apiserver (an API without nodes: objects only)
#   cluster:   and containerd (CRI), kube-controller-manager, kube-scheduler
#              and a kubelet: one Ready node that runs real pods (default)
# Binaries from build.sh (make k8s); the images from images.sh. When it
# returns, $VIGIL_K8S_STATE/env holds KUBECONFIG, the agent's kubeconfig,
# the CRI socket and the rest (KEY=VALUE, for `. /tmp/vigil-k8s/env`).
# stop.sh undoes it all. Callers that may run concurrently (the tests) hold
# an exclusive flock on $VIGIL_K8S_STATE/lock around start...stop and say
# so with VIGIL_K8S_LOCK_HELD=1; by hand, start.sh and stop.sh refuse while
# a test's lab holds it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"
mode=${1:-cluster}
case $mode in
apiserver) comps=$K8S_APISERVER_COMPONENTS ;;
cluster) comps=$K8S_CLUSTER_COMPONENTS ;;
*) echo "usage: $0 [apiserver|cluster]" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "start: needs root" >&2; exit 1; }
k8s_guard
for c in $comps; do
	[ -x "$VIGIL_K8S_BIN/$c" ] || { echo "start: no $VIGIL_K8S_BIN/$c (make k8s)" >&2; exit 1; }
done
t0=$(date +%s.%N)
step() { echo "[$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s] $*"; }
wait_or_die() { # seconds what cmd...
	local s=$1 what=$2
	shift 2
	k8s_wait "$s" "$@" || { echo "start: $what not ready in $s s" >&2; exit 1; }
}
limit=${VIGIL_K8S_WAIT:-120}

"$HERE/stop.sh" >/dev/null
busy=()
ports="2379 2380 6443"
[ "$mode" = cluster ] && ports="$ports 10248 10250 10257 10259"
for p in $ports; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then busy+=("$p"); fi
done
[ ${#busy[@]} -eq 0 ] || { echo "start: 127.0.0.1 ports ${busy[*]} are taken: another cluster runs here" >&2; exit 1; }

# a clean slate, except the images (built once per machine boot)
for d in "$K8S_RUN" "$K8S_PKI" "$K8S_CD" "$K8S_CNI" "$K8S_KUBELET" "$VIGIL_K8S_STATE/etcd"; do rm -rf "$d"; done
mkdir -p "$K8S_RUN"
echo "$mode" >"$K8S_RUN/mode"
"$HERE/pki.sh" >/dev/null
kubectl() { "$VIGIL_K8S_BIN/kubectl" --kubeconfig "$K8S_PKI/admin.kubeconfig" "$@"; }

if [ "$mode" = cluster ]; then
	"$HERE/images.sh" >/dev/null
	# what the lab creates outside its state dir, to remove on stop only if
	# it was not there before
	# (the kubelet's device-plugin socket and container log links have
	# fixed paths; containerd's shim sockets and the CNI cache too)
	{
		for d in /var/lib/kubelet /var/log/containers; do [ -e "$d" ] || echo "all $d"; done
		for d in /run/containerd /var/lib/cni; do [ -e "$d" ] || echo "empty $d"; done
	} >"$K8S_RUN/created-dirs"
	# sysctls the kubelet (vm.*, kernel.*) and the CNI bridge (forwarding) set
	for s in vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops \
		kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward net.ipv6.conf.all.forwarding; do
		v=$(sysctl -n "$s" 2>/dev/null) && echo "$s=$v"
	done >"$K8S_RUN/sysctl.orig"
	# bpffs at /sys/fs/bpf, as a shared mount: a pod's Bidirectional
	# mount of it (the vigil chart's) needs one, or containerd refuses the
	# container; systemd makes every mount shared, this host may not have
	# (stop.sh makes it private again if it was; a bpffs mounted here
	# stays, as .ci/run mounts it: unmounting would drop others' pins)
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	if ! grep -qE '^[0-9]+ [0-9]+ [0-9:]+ / /sys/fs/bpf .* shared:[0-9]+' /proc/self/mountinfo; then
		mount --make-shared /sys/fs/bpf
		echo "private" >"$K8S_RUN/bpffs.orig"
	fi
	"$HERE/containerd-config.sh"
	k8s_daemon containerd "$(command -v containerd)" --config "$K8S_CD/config.toml"
	ctr=(ctr --address "$K8S_CRI_SOCKET" -n k8s.io)
	wait_or_die 30 containerd "${ctr[@]}" version
	"${ctr[@]}" image import "$K8S_IMAGES/pause.tar" >/dev/null
	"${ctr[@]}" image import "$K8S_IMAGES/busybox.tar" >/dev/null
	step "containerd up on $K8S_CRI_SOCKET, images imported"
fi

k8s_daemon etcd "$VIGIL_K8S_BIN/etcd" --name vigil-k8s --data-dir "$VIGIL_K8S_STATE/etcd" \
	--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster vigil-k8s=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
	--unsafe-no-fsync
wait_or_die 60 etcd curl -sf --max-time 5 http://127.0.0.1:2379/health
step "etcd up"
"$HERE/apiserver.sh" start >/dev/null
step "apiserver ready on $K8S_SERVER"

# the agent's identity: read-only on what it enriches events with
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: vigil-agent}
rules:
- apiGroups: [""]
  resources: [pods, namespaces, nodes]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [replicasets, deployments, statefulsets, daemonsets]
  verbs: [get, list, watch]
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: vigil-agent}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: vigil-agent}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: vigil-agent}
YAML

if [ "$mode" = cluster ]; then
	P=$K8S_PKI
	k8s_daemon kcm "$VIGIL_K8S_BIN/kube-controller-manager" --kubeconfig="$P/kcm.kubeconfig" \
		--authentication-kubeconfig="$P/kcm.kubeconfig" --authorization-kubeconfig="$P/kcm.kubeconfig" \
		--bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false \
		--service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
		--use-service-account-credentials=true \
		--cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key"
	k8s_daemon scheduler "$VIGIL_K8S_BIN/kube-scheduler" --kubeconfig="$P/scheduler.kubeconfig" \
		--authentication-kubeconfig="$P/scheduler.kubeconfig" --authorization-kubeconfig="$P/scheduler.kubeconfig" \
		--bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false

	node_ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1)
	mkdir -p "$K8S_KUBELET/root" "$K8S_KUBELET/manifests" "$K8S_KUBELET/pod-logs"
	# makeIPTablesUtilChains: false: the kubelet leaves iptables alone
	cat >"$K8S_KUBELET/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $P/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$K8S_CRI_SOCKET
failSwapOn: false
failCgroupV1: false
makeIPTablesUtilChains: false
staticPodPath: $K8S_KUBELET/manifests
podLogsDir: $K8S_KUBELET/pod-logs
clusterDomain: cluster.local
clusterDNS: [10.0.0.10]
podCIDR: $K8S_POD_CIDR
rotateCertificates: false
# ConfigMap volumes are refreshed at each pod sync: every 10 s rather than
# the default minute, so that a test of a ConfigMap change waits less
syncFrequency: 10s
serializeImagePulls: false
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
YAML
	k8s_daemon kubelet "$VIGIL_K8S_BIN/kubelet" --config="$K8S_KUBELET/config.yaml" \
		--kubeconfig="$P/kubelet.kubeconfig" --root-dir="$K8S_KUBELET/root" --cert-dir="$K8S_KUBELET/pki" \
		--hostname-override="$VIGIL_K8S_NODE" --node-ip="${node_ip:-127.0.0.1}"
	node_ready() {
		k8s_alive "$(cat "$K8S_RUN/kubelet.pid")" || { echo "start: the kubelet exited:" >&2; tail -20 "$K8S_RUN/kubelet.log" >&2; exit 1; }
		[ "$(kubectl get node "$VIGIL_K8S_NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
	}
	deadline=$((SECONDS + limit))
	until node_ready; do
		[ "$SECONDS" -lt "$deadline" ] || { echo "start: node not Ready in $limit s" >&2; tail -20 "$K8S_RUN/kubelet.log" >&2; exit 1; }
		sleep 0.2
	done
	step "node $VIGIL_K8S_NODE Ready"
	# the service-account admission refuses pods until the controller
	# manager made the namespace's default account
	wait_or_die "$limit" "service account default/default" kubectl -n default get serviceaccount default
fi

cat >"$VIGIL_K8S_STATE/env" <<ENV
export VIGIL_K8S_MODE=$mode
export KUBECONFIG=$K8S_PKI/admin.kubeconfig
export KUBECACHEDIR=$KUBECACHEDIR
export VIGIL_K8S_AGENT_KUBECONFIG=$K8S_PKI/agent.kubeconfig
export VIGIL_K8S_SERVER=$K8S_SERVER
export VIGIL_K8S_NODE=$VIGIL_K8S_NODE
export VIGIL_K8S_CRI_SOCKET=$([ "$mode" = cluster ] && echo "$K8S_CRI_SOCKET")
export VIGIL_K8S_BIN=$VIGIL_K8S_BIN
export VIGIL_K8S_BUSYBOX_IMAGE=$K8S_BUSYBOX_IMAGE
export PATH=$VIGIL_K8S_BIN:\$PATH
ENV
step "$mode ready: . $VIGIL_K8S_STATE/env"
