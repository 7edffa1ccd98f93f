#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# pki.sh -- a fresh PKI for the lab in $K8S_PKI: a CA, the API server's
# serving certificate (127.0.0.1, localhost, kubernetes.default.svc...), its
# client certificate towards the kubelet, the service-account key pair,
# static bearer tokens and a kubeconfig per user:
#   admin.kubeconfig      system:masters
#   kubelet.kubeconfig    system:node:$VIGIL_K8S_NODE (group system:nodes)
#   kcm.kubeconfig, scheduler.kubeconfig
#   agent.kubeconfig      user vigil-agent: read-only on pods, namespaces,
#                         nodes and workloads (RBAC applied by start.sh)
# Keys are ECDSA P-256 (quick to make on a loaded machine). Needs only openssl.
set -euo pipefail
. "$(dirname "$0")/env.sh"
D=$K8S_PKI
rm -rf "$D"
mkdir -p "$D"
cd "$D"
ossl() { openssl "$@" 2>/dev/null; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 30 -subj "/CN=vigil-k8s-ca"
cat >server.cnf <<'CNF'
[ext]
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
CNF
printf '[ext]\nextendedKeyUsage=clientAuth\n' >client.cnf
sign() { # name subject extfile
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2"
	ossl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 30 -extfile "$3" -extensions ext
	rm -f "$1.csr"
}
sign apiserver "/CN=kube-apiserver" server.cnf
sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" client.cnf
ossl ecparam -name prime256v1 -genkey -noout -out sa.key
ossl ec -in sa.key -pubout -out sa.pub
tok() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
admin=$(tok) kubelet=$(tok) kcm=$(tok) sched=$(tok) agent=$(tok)
umask 077
cat >tokens.csv <<CSV
$admin,admin,admin,"system:masters"
$kubelet,system:node:$VIGIL_K8S_NODE,kubelet,"system:nodes"
$kcm,system:kube-controller-manager,kcm
$sched,system:kube-scheduler,scheduler
$agent,vigil-agent,vigil-agent
CSV
kubeconfig() { # name token
	cat >"$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: vigil-k8s
  cluster: {server: "$K8S_SERVER", certificate-authority: "$D/ca.crt"}
users:
- name: $1
  user: {token: "$2"}
contexts:
- name: vigil-k8s
  context: {cluster: vigil-k8s, user: $1}
current-context: vigil-k8s
KC
}
kubeconfig admin "$admin"
kubeconfig kubelet "$kubelet"
kubeconfig kcm "$kcm"
kubeconfig scheduler "$sched"
kubeconfig agent "$agent"
echo "pki in $D (node $VIGIL_K8S_NODE)"
