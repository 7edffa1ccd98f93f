#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# stop.sh -- stops what start.sh started, by the pids it recorded, and undoes
# its side effects on the host: pods' containers and their shims, mounts
# under $VIGIL_K8S_STATE (kubelet volumes, container root file systems,
# network namespaces), the CNI bridge and the CNI result cache entries, the
# kubepods cgroups, sysctls the kubelet and CNI changed, directories it
# created outside its state dir, and any iptables chain a kubelet made.
# Safe to run when nothing runs. Logs stay in $K8S_RUN for a look afterwards.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"
[ -d "$K8S_RUN" ] || exit 0
k8s_guard
ctr=(ctr --address "$K8S_CRI_SOCKET" -n k8s.io)
cd_up() { [ -S "$K8S_CRI_SOCKET" ] && timeout 10 "${ctr[@]}" version >/dev/null 2>&1; }
running() { [ -f "$K8S_RUN/$1.pid" ] && k8s_alive "$(cat "$K8S_RUN/$1.pid")"; }

k8s_stop scheduler
k8s_stop kcm
# the kubelet tears pods down properly (CNI DEL, volume unmounts) while
# everything else still runs
if running kubelet && running apiserver; then
	timeout 60 "$VIGIL_K8S_BIN/kubectl" --kubeconfig "$K8S_PKI/admin.kubeconfig" delete pods --all -A \
		--grace-period=0 --force --wait=true >/dev/null 2>&1
	if cd_up; then
		timeout 60 bash -c "while ${ctr[*]} task ls -q 2>/dev/null | grep -q .; do sleep 0.5; done"
	fi
fi
k8s_stop kubelet
sandboxes=()
if cd_up; then
	mapfile -t sandboxes < <("${ctr[@]}" containers ls -q 2>/dev/null)
	for t in $("${ctr[@]}" task ls -q 2>/dev/null); do "${ctr[@]}" task kill -s KILL "$t" >/dev/null 2>&1; done
	for t in $("${ctr[@]}" task ls -q 2>/dev/null); do
		timeout 20 bash -c "until ${ctr[*]} task rm -f $t >/dev/null 2>&1; do sleep 0.5; done"
	done
	for c in $("${ctr[@]}" containers ls -q 2>/dev/null); do "${ctr[@]}" containers rm "$c" >/dev/null 2>&1; done
fi
k8s_stop apiserver
k8s_stop etcd
k8s_stop containerd

# shims of our containerd that outlived it (they carry its socket's path)
while read -r f; do
	pid=${f#/proc/}
	pid=${pid%/cmdline}
	case $( { tr '\0' ' ' <"$f"; } 2>/dev/null) in
	*containerd-shim*) kill -9 "$pid" 2>/dev/null && echo "killed shim $pid" ;;
	esac
done < <(grep -lsF -- "$K8S_CRI_SOCKET" /proc/[0-9]*/cmdline)
# processes left in the pods' cgroups (containers whose shim is gone)
for procs in /sys/fs/cgroup/*/kubepods/cgroup.procs /sys/fs/cgroup/kubepods/cgroup.procs; do
	d=${procs%/cgroup.procs}
	[ -d "$d" ] || continue
	while read -r pid; do
		kill -9 "$pid" 2>/dev/null && echo "killed pod process $pid"
	done < <(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
done

# mounts below the state dir, deepest first (kubelet's own bind mount of its
# root, pod volumes, container root file systems, sandbox /dev/shm, netns)
for _ in 1 2 3; do
	mapfile -t mnts < <(awk -v s="$VIGIL_K8S_STATE/" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort -r)
	[ ${#mnts[@]} -gt 0 ] || break
	for m in "${mnts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
done

# CNI: the bridge, the cached results of our sandboxes, IPAM state
ip link del "$K8S_BRIDGE" 2>/dev/null && echo "removed bridge $K8S_BRIDGE"
for id in "${sandboxes[@]}"; do rm -f /var/lib/cni/results/*-"$id"-* 2>/dev/null; done
rm -rf "$K8S_CNI/ipam"

# cgroups the kubelet made, in every hierarchy, deepest first
for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
	[ -d "$d" ] || continue
	timeout 20 bash -c "until find '$d' -depth -type d -exec rmdir {} + 2>/dev/null; [ ! -d '$d' ]; do sleep 0.5; done" ||
		echo "stop: cannot remove cgroup $d" >&2
done

# iptables chains a kubelet makes (start.sh tells it not to; for older labs)
if command -v iptables >/dev/null; then
	for ipt in iptables ip6tables; do
		$ipt -t filter -D INPUT -j KUBE-FIREWALL 2>/dev/null
		$ipt -t filter -D OUTPUT -j KUBE-FIREWALL 2>/dev/null
		for t in filter mangle nat; do
			for ch in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
				$ipt -t $t -F $ch 2>/dev/null && $ipt -t $t -X $ch 2>/dev/null
			done
		done
	done
fi

# /sys/fs/bpf as start.sh found it
if [ -f "$K8S_RUN/bpffs.orig" ]; then
	mount --make-private /sys/fs/bpf && echo "made /sys/fs/bpf private again"
	rm -f "$K8S_RUN/bpffs.orig"
fi
if [ -f "$K8S_RUN/sysctl.orig" ]; then
	while IFS='=' read -r k v; do sysctl -qw "$k=$v"; done <"$K8S_RUN/sysctl.orig"
	rm -f "$K8S_RUN/sysctl.orig"
	echo "restored sysctls"
fi
# directories outside the state dir that start.sh found missing: the
# kubelet's go whole, of containerd's and the CNI cache the empty ones
if [ -f "$K8S_RUN/created-dirs" ]; then
	while read -r how d; do
		[ -d "$d" ] || continue
		case $how in
		all) rm -rf "$d" ;;
		empty) find "$d" -depth -type d -empty -delete ;;
		esac
	done <"$K8S_RUN/created-dirs"
	rm -f "$K8S_RUN/created-dirs"
fi
# the bulky parts; logs stay
rm -rf "$K8S_CD/root" "$K8S_CD/state" "$K8S_KUBELET/root" "$VIGIL_K8S_STATE/etcd" "$KUBECACHEDIR" 2>/dev/null
rm -f "$VIGIL_K8S_STATE/env"
exit 0
