#!/usr/bin/env bash
# make detect: runs Falco's event-generator syscall actions, one at a time,
# under the vigil agent with its default rule pack, and prints which rules
# fired for each action, with their ATT&CK techniques, and how many actions
# were detected for the behaviour itself (tools/detect/expected.tsv says,
# per action, which rules are about that behaviour). Needs root.
#
# Each action runs in a throwaway copy of the host (tools/detect/sandbox.sh:
# private mount, network and pid namespaces, overlays over /etc, /usr, /root,
# /var, …, a private /dev and /tmp) and in its own cgroup below the one the
# agent watches, so an alert belongs to the action whose cgroup its process
# was in. Nothing outside the sandbox is written but the work directory.
#
# Environment:
#   VIGIL            agent binary (bin/vigil)
#   EVENT_GENERATOR  event-generator binary; built with
#                    ../shared/tools/build-event-generator.sh when missing
#   DETECT_NAME      cgroup name (vigil-detect-PID)
#   DETECT_FILTER    regexp of action names to run (all syscall actions)
#   DETECT_OUT       work directory, kept (a new one below /tmp)
#   VIGIL_ARGS       more arguments for `vigil run` (e.g. --rules extra.yaml)
#   DETECT_PACKAGES  Debian packages installed (apt-get, host network) into a
#                    layer below every action's sandbox, never on the host,
#                    for the actions whose tools the host lacks (nc, nmap,
#                    sudo, pkexec, crontab); "" for none
#   BASELINE_VIGIL   a second agent binary (an earlier build) run beside the
#                    first with its embedded pack over the same actions: its
#                    table is printed first, for a before/after in one run
#   DETECT_CONTAINER 1: each action runs in a container of its own under a
#                    private containerd and runc instead of the sandbox
#                    (tools/detect/container.sh; make detect-container)
#   DETECT_TIMEOUT   seconds an action may run before it is killed (300);
#                    an action killed so exits 137. Most take a second or
#                    two; a few (a copy of a JVM, nmap) take a minute on a
#                    loaded machine, which 90 s did not always allow
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
vigil=${VIGIL:-$repo/bin/vigil}
egen=${EVENT_GENERATOR:-$repo/bin/event-generator}
name=${DETECT_NAME:-vigil-detect-$$}
filter=${DETECT_FILTER:-.}
action_timeout=${DETECT_TIMEOUT:-300}
out=${DETECT_OUT:-$(mktemp -d /tmp/vigil-detect.XXXXXX)}
cgroot=/sys/fs/cgroup/unified
[ -f "$cgroot/cgroup.procs" ] || cgroot=/sys/fs/cgroup

[ "$(id -u)" = 0 ] || { echo "detect: needs root" >&2; exit 1; }
for t in jq unshare ip; do
	command -v "$t" >/dev/null || { echo "detect: needs $t" >&2; exit 1; }
done
[ -x "$vigil" ] || { echo "detect: no agent at $vigil (make build)" >&2; exit 1; }
[[ $action_timeout =~ ^[1-9][0-9]*$ ]] || { echo "detect: DETECT_TIMEOUT=$action_timeout: want a number of seconds (300)" >&2; exit 1; }
if [ ! -x "$egen" ]; then
	builder=${EVENT_GENERATOR_BUILDER:-$repo/../shared/tools/build-event-generator.sh}
	[ -x "$builder" ] || { echo "detect: no $egen and no $builder to build it" >&2; exit 1; }
	"$builder" "$egen"
fi
mkdir -p "$out"
cg=$cgroot/$name
mkdir "$cg"
agents=()
cleanup() {
	for a in "${agents[@]}"; do
		kill -INT "$a" 2>/dev/null || true
		wait "$a" 2>/dev/null || true
	done
	# An action interrupted by a signal: kill what is left of it.
	for d in "$cg"/*/; do
		[ -d "$d" ] || continue
		echo 1 >"$d/cgroup.kill" 2>/dev/null || true
		for _ in $(seq 50); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
	done
	rmdir "$cg" 2>/dev/null || true
}
trap cleanup EXIT
container=${DETECT_CONTAINER:-}
if [ "$container" = 1 ]; then
	# shellcheck source=tools/detect/container.sh
	. "$here/container.sh"
	trap 'ctr_down; cleanup' EXIT
fi

# The tools some actions need, in a layer of their own (before the agents
# start: the install is not measured).
default_packages="netcat-openbsd nmap sudo cron pkexec"
# nmap and OpenBSD's netcat go into a container's image (busybox's nc has
# no -u, the UDP mode UnexpectedUDPTraffic runs)
[ "$container" = 1 ] && default_packages="nmap netcat-openbsd"
packages=${DETECT_PACKAGES-$default_packages}
layer=
if [ -n "$packages" ]; then
	layer=$out/layer
	mkdir -p "$layer"
	# shellcheck disable=SC2086 # packages is a list
	if ! SANDBOX_KEEP=1 SANDBOX_HOST_NET=1 unshare --mount --pid --fork --kill-child --mount-proc --propagation private \
		"$here/sandbox.sh" "$layer" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends $packages >"$out/layer.log" 2>&1; then
		echo "detect: installing $packages failed (see $out/layer.log); the actions that need them are skipped" >&2
	fi
fi

[ "$container" = 1 ] && ctr_up "$layer"

# start_agent BINARY DIR [ARG...]: an agent watching the cgroup, alerts to
# DIR/alerts.json; returns once it has started.
start_agent() {
	local bin=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	"$bin" run --cgroup "$name" --format json --events alerts --output "$dir/alerts.json" \
		--socket "" --state-dir "" --enforce=false "$@" 2>"$dir/agent.log" &
	agents+=("$!")
	for _ in $(seq 900); do
		grep -q 'msg=started' "$dir/agent.log" && return 0
		kill -0 "$!" 2>/dev/null || break
		sleep 0.2
	done
	cat "$dir/agent.log" >&2
	echo "detect: the agent $bin did not start" >&2
	exit 1
}
# shellcheck disable=SC2086 # VIGIL_ARGS is a list of arguments
start_agent "$vigil" "$out" ${VIGIL_ARGS:-}
if [ -n "${BASELINE_VIGIL:-}" ]; then
	start_agent "$BASELINE_VIGIL" "$out/baseline"
fi

"$egen" list --all 2>/dev/null | grep '^syscall\.' | sed 's/^syscall\.//' | grep -E "$filter" >"$out/actions" || true
: >"$out/runs.tsv"
i=0
while read -r action; do
	i=$((i + 1))
	id=$(printf 'a%02d' "$i")
	status=0
	if [ "$container" = 1 ]; then
		ctr_action "$id" "$action" </dev/null || status=$?
		printf '%s\t%s\t%s\t%s\n' "$id" "$action" "$status" "$(ctr_id "$id")" >>"$out/runs.tsv"
		printf '%s %-55s exit %s\n' "$id" "$action" "$status" >&2
		continue
	fi
	mkdir "$cg/$id"
	scratch="$out/scratch-$id"
	mkdir -p "$scratch"
	# The sandbox sets itself up in the agent's cgroup, then moves into the
	# action's and starts the event-generator.
	SANDBOX_CGROUP="$cg/$id" SANDBOX_LAYER=$layer timeout -s KILL "$action_timeout" unshare --mount --net --pid --fork --kill-child --mount-proc --propagation private \
		"$here/sandbox.sh" "$scratch" "$egen" run "^syscall\\.$action\$" --all --sleep 0s \
		>"$out/$id.log" 2>&1 </dev/null || status=$?
	rmdir "$scratch" 2>/dev/null || true
	printf '%s\t%s\t%s\n' "$id" "$action" "$status" >>"$out/runs.tsv"
	printf '%s %-55s exit %s\n' "$id" "$action" "$status" >&2
done <"$out/actions"

# Let the last events through the pipeline, then stop the agents.
sleep 3
for a in "${agents[@]}"; do kill -INT "$a"; done
for a in "${agents[@]}"; do wait "$a" || true; done
agents=()

expected=$here/expected.tsv
if [ "$container" = 1 ]; then
	# the container actions' own list first: its lines win
	expected=$out/expected.tsv
	cat "$here/expected-container.tsv" "$here/expected.tsv" >"$expected"
fi
if [ -n "${BASELINE_VIGIL:-}" ]; then
	echo "## $BASELINE_VIGIL (baseline)"
	echo
	"$here/report.sh" "$out" "$name" "$expected" "$out/baseline/alerts.json"
	echo
	echo "## $vigil ${VIGIL_ARGS:-}"
	echo
fi
"$here/report.sh" "$out" "$name" "$expected"
