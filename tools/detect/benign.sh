#!/usr/bin/env bash
# make detect-benign: runs ordinary work (tools/detect/benign-workload.sh: a
# shell doing file work, a C project built and tested, cloned and built with
# git, a Go package vetted and tested with a cold cache, apt-get installing
# packages with maintainer scripts, a web server under 200 requests, a cron
# job, admin work with sudo) under the agent with the default pack, and
# counts the alerts by severity and by rule. The goal is no high or critical
# alert. Needs root, and apt's mirror for the package install.
#
# The workload runs in the throwaway sandbox of tools/detect/sandbox.sh
# (overlays over /etc, /usr, /var, …; private /tmp) with the host's network,
# in a cgroup the agent watches.
#
# Environment: VIGIL, DETECT_NAME, DETECT_OUT, VIGIL_ARGS as for detect.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
vigil=${VIGIL:-$repo/bin/vigil}
name=${DETECT_NAME:-vigil-benign-$$}
out=${DETECT_OUT:-$(mktemp -d /tmp/vigil-benign.XXXXXX)}
cgroot=/sys/fs/cgroup/unified
[ -f "$cgroot/cgroup.procs" ] || cgroot=/sys/fs/cgroup

[ "$(id -u)" = 0 ] || { echo "detect-benign: needs root" >&2; exit 1; }
[ -x "$vigil" ] || { echo "detect-benign: no agent at $vigil (make build)" >&2; exit 1; }
mkdir -p "$out"
# the agent appends: an earlier run's alerts in the same directory would be counted too
rm -f "$out/alerts.json"
cg=$cgroot/$name
mkdir "$cg"
agent=
cleanup() {
	if [ -n "$agent" ]; then
		kill -INT "$agent" 2>/dev/null || true
		wait "$agent" 2>/dev/null || true
	fi
	rmdir "$cg" 2>/dev/null || true
}
trap cleanup EXIT

# shellcheck disable=SC2086 # VIGIL_ARGS is a list of arguments
"$vigil" run --cgroup "$name" --format json --events alerts --output "$out/alerts.json" \
	--socket "" --state-dir "" --enforce=false ${VIGIL_ARGS:-} 2>"$out/agent.log" &
agent=$!
for _ in $(seq 600); do
	grep -q 'msg=started' "$out/agent.log" && break
	kill -0 "$agent" 2>/dev/null || { cat "$out/agent.log" >&2; exit 1; }
	sleep 0.2
done
grep -q 'msg=started' "$out/agent.log" || { echo "detect-benign: the agent did not start" >&2; exit 1; }

mkdir -p "$out/scratch"
start=$(date +%s)
SANDBOX_CGROUP=$cg SANDBOX_HOST_NET=1 BENIGN_REPO=$repo BENIGN_GO_PKG=${BENIGN_GO_PKG:-./internal/output/termsafe/} \
	unshare --mount --pid --fork --kill-child --mount-proc --propagation private \
	"$here/sandbox.sh" "$out/scratch" "$here/benign-workload.sh" 2>&1 | tee "$out/workload.log" >&2
secs=$(($(date +%s) - start))
rmdir "$out/scratch" 2>/dev/null || true

sleep 3
kill -INT "$agent"
wait "$agent" || true
agent=

total=$(jq -s 'map(select(.kind == "alert")) | length' "$out/alerts.json" 2>/dev/null || echo 0)
echo "workload: ${secs}s; alerts: $total"
echo
echo "| severity | alerts | rules |"
echo "|---|---|---|"
for sev in critical high medium low info; do
	jq -rs --arg s "$sev" '
		map(select(.kind == "alert" and .rule.severity == $s)) as $a
		| ($a | group_by(.rule.name) | map("\(.[0].rule.name) (\(length))") | join(", ")) as $rules
		| "| \($s) | \($a | length) | \(if $rules == "" then "-" else $rules end) |"' "$out/alerts.json" 2>/dev/null ||
		echo "| $sev | 0 | - |"
done
echo
echo "alerts: $out/alerts.json"
