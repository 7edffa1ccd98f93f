#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# apiserver.sh start|stop -- the lab's kube-apiserver alone (etcd and the
# PKI must be there: start.sh makes them). Tests stop and start it to see
# what a client does while the API server is away. It serves
# https://127.0.0.1:6443 only; clients authenticate with the static tokens of
# pki.sh; authorization is Node,RBAC.
set -euo pipefail
. "$(dirname "$0")/env.sh"
P=$K8S_PKI

ready() {
	curl -sf --max-time 5 --cacert "$P/ca.crt" -H "Authorization: Bearer $(awk -F, 'NR==1{print $1}' "$P/tokens.csv")" \
		"$K8S_SERVER/readyz" >/dev/null 2>&1
}

case ${1:-} in
start)
	if [ -f "$K8S_RUN/apiserver.pid" ] && k8s_alive "$(cat "$K8S_RUN/apiserver.pid")"; then
		echo "apiserver already running (pid $(cat "$K8S_RUN/apiserver.pid"))"
		exit 0
	fi
	# the address other nodes would use: the node's own (it still binds
	# 127.0.0.1 only); the kubernetes service's endpoints refuse loopback
	ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1)
	mkdir -p "$K8S_RUN"
	[ -f "$K8S_RUN/apiserver.log" ] && cat "$K8S_RUN/apiserver.log" >>"$K8S_RUN/apiserver.log.old"
	k8s_daemon apiserver "$VIGIL_K8S_BIN/kube-apiserver" \
		--etcd-servers=http://127.0.0.1:2379 \
		--bind-address=127.0.0.1 --advertise-address="${ip:-127.0.0.1}" --secure-port=6443 \
		--tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
		--client-ca-file="$P/ca.crt" --token-auth-file="$P/tokens.csv" \
		--authorization-mode=Node,RBAC \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
		--service-cluster-ip-range=10.0.0.0/24 \
		--kubelet-client-certificate="$P/apiserver-kubelet-client.crt" \
		--kubelet-client-key="$P/apiserver-kubelet-client.key" \
		--allow-privileged=true \
		--cert-dir="$K8S_RUN/apiserver-certs"
	pid=$(cat "$K8S_RUN/apiserver.pid")
	deadline=$((SECONDS + ${VIGIL_K8S_WAIT:-120}))
	until ready; do
		if ! k8s_alive "$pid"; then
			echo "apiserver exited:" >&2
			tail -20 "$K8S_RUN/apiserver.log" >&2
			exit 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "apiserver not ready in ${VIGIL_K8S_WAIT:-120} s:" >&2
			tail -20 "$K8S_RUN/apiserver.log" >&2
			exit 1
		fi
		sleep 0.2
	done
	echo "apiserver ready (pid $pid)"
	;;
stop) k8s_stop apiserver ;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
