#!/usr/bin/env bash
# helm-smoke.sh: the chart on the Kubernetes lab (scripts/k8s, from the
# kubelab branch: `make k8s` builds it). Starts the lab cluster under its
# lock, imports bin/vigil-image.tar (make image) into the lab's containerd,
# helm installs the chart, waits for the DaemonSet to be Ready, adds a rule
# through the rules ConfigMap (helm upgrade) and waits for the agent to
# reload it, runs a pod whose exec the rule matches and looks for the alert
# in the agent's log, then uninstalls and stops the lab.
#
# Not wired into CI yet: the end-to-end test of issue 13 (webhook receiver
# with pod metadata, a deny kept across helm upgrade, no pins after
# uninstall) builds on it once internal/kube is merged.
#
# The agent pins into a private directory (/sys/fs/bpf/vigil-test-<pid>-helm,
# removed at the end) so that it touches no other agent's pins, and the
# host's /sys/fs/bpf is made a shared mount for the test (Bidirectional
# propagation needs it; systemd hosts have it) and private again after.
set -uo pipefail
cd "$(dirname "$0")/.."
LAB=scripts/k8s
[ -x "$LAB/start.sh" ] || { echo "helm-smoke: no $LAB (the kubelab harness)"; exit 1; }
. "$LAB/env.sh"
HELM=${HELM:-$HOME/.cache/vigil-tools/bin/helm-v4.3.2}
exec 9>>"$VIGIL_K8S_STATE/lock"
flock -w 600 9 || { echo "helm-smoke: the lab is busy" >&2; exit 1; }
echo $$ >"$VIGIL_K8S_STATE/lock"
export VIGIL_K8S_LOCK_HELD=1
pin=vigil-test-$$-helm
prop=$(findmnt -no PROPAGATION /sys/fs/bpf)
t0=$SECONDS
say() { echo "[$((SECONDS - t0)) s] $*"; }
fail=0
cleanup() {
	"$HELM" uninstall vigil -n vigil --wait --timeout 120s >/dev/null 2>&1
	"$LAB/stop.sh" >/dev/null 2>&1
	rm -rf "/sys/fs/bpf/$pin"
	[ "$prop" = shared ] || mount --make-private /sys/fs/bpf
}
trap cleanup EXIT
mount --make-shared /sys/fs/bpf
"$LAB/start.sh" cluster | tail -1 || exit 1
. "$VIGIL_K8S_STATE/env"
ctr --address "$VIGIL_K8S_CRI_SOCKET" -n k8s.io image import bin/vigil-image.tar >/dev/null || exit 1
say "cluster up, image imported"
values=$(mktemp)
rule=$(mktemp)
trap 'cleanup; rm -f "$values" "$rule"' EXIT
cat >"$values" <<VAL
kubernetes: {criSocket: $VIGIL_K8S_CRI_SOCKET}
priorityClassName: ""
extraArgs: ["--pin-dir=/sys/fs/bpf/$pin"]
VAL
"$HELM" install vigil deploy/helm/vigil -n vigil --create-namespace -f "$values" >/dev/null || exit 1
kubectl -n vigil rollout status daemonset/vigil --timeout=300s >/dev/null &&
	kubectl -n vigil wait --for=condition=Ready pod -l app.kubernetes.io/name=vigil --timeout=300s >/dev/null ||
	{ kubectl -n vigil describe pods | tail -20; exit 1; }
say "DaemonSet Ready"

marker=vigil-smoke-$$
cat >"$rule" <<R
- rule: smoke_marker
  description: the smoke test's marker
  condition: kind == "process_exec" && process.args.exists(a, a == "$marker")
  severity: low
  tags: [T1059]
R
"$HELM" upgrade vigil deploy/helm/vigil -n vigil --reuse-values --set-file "rules.files.smoke\.yaml=$rule" >/dev/null
reloaded() { kubectl -n vigil logs daemonset/vigil | grep -q 'rules reloaded'; }
if k8s_wait 240 reloaded; then say "the ConfigMap's new rule was reloaded"; else say "FAIL: no reload in 240 s"; fail=1; fi
kubectl run smoke --image="$VIGIL_K8S_BUSYBOX_IMAGE" --restart=Never --image-pull-policy=Never -- \
	/bin/sh -c "/bin/true $marker; sleep 2" >/dev/null
alerted() { kubectl -n vigil logs daemonset/vigil | grep -q '"name":"smoke_marker"'; }
if k8s_wait 120 alerted; then say "the test pod's exec raised the alert"; else say "FAIL: no alert in 120 s"; fail=1; fi
kubectl -n vigil logs daemonset/vigil | grep '"name":"smoke_marker"' | tail -1 | cut -c1-600
"$HELM" uninstall vigil -n vigil --wait --timeout 120s >/dev/null && say "uninstalled"
say "pins left under /sys/fs/bpf/$pin after uninstall: $(find "/sys/fs/bpf/$pin" -mindepth 1 | wc -l)"
[ "$fail" = 0 ] && say "ok" || say "FAILED"
exit "$fail"
