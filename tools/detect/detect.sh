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
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
vigil=${VIGIL:-$repo/bin/vigil}
egen=${EVENT_GENERATOR:-$repo/bin/event-generator}
name=${DETECT_NAME:-vigil-detect-$$}
filter=${DETECT_FILTER:-.}
out=${DETECT_OUT:-$(mktemp -d /tmp/vigil-detect.XXXXXX)}
cgroot=/sys/fs/cgroup/unified
[ -f "$cgroot/cgroup.procs" ] || cgroot=/sys/fs/cgroup

[ "$(id -u)" = 0 ] || { echo "detect: needs root" >&2; exit 1; }
for t in jq unshare ip; do
	command -v "$t" >/dev/null || { echo "detect: needs $t" >&2; exit 1; }
done
[ -x "$vigil" ] || { echo "detect: no agent at $vigil (make build)" >&2; exit 1; }
if [ ! -x "$egen" ]; then
	builder=${EVENT_GENERATOR_BUILDER:-$repo/../shared/tools/build-event-generator.sh}
	[ -x "$builder" ] || { echo "detect: no $egen and no $builder to build it" >&2; exit 1; }
	"$builder" "$egen"
fi
mkdir -p "$out"
cg=$cgroot/$name
mkdir "$cg"
agent=
cleanup() {
	if [ -n "$agent" ]; then
		kill -INT "$agent" 2>/dev/null || true
		wait "$agent" 2>/dev/null || true
	fi
	# Processes an action left behind die with their pid namespace; the
	# cgroups are then empty.
	for d in "$cg"/*/; do
		if [ -d "$d" ]; then rmdir "$d" 2>/dev/null || true; fi
	done
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
grep -q 'msg=started' "$out/agent.log" || { echo "detect: the agent did not start" >&2; exit 1; }

"$egen" list --all 2>/dev/null | grep '^syscall\.' | sed 's/^syscall\.//' | grep -E "$filter" >"$out/actions" || true
: >"$out/runs.tsv"
i=0
while read -r action; do
	i=$((i + 1))
	id=$(printf 'a%02d' "$i")
	mkdir "$cg/$id"
	scratch="$out/scratch-$id"
	mkdir -p "$scratch"
	# The subshell moves itself into the action's cgroup, then becomes the
	# sandbox; the event-generator is started inside.
	status=0
	(
		echo "$BASHPID" >"$cg/$id/cgroup.procs"
		exec timeout -s KILL 90 unshare --mount --net --pid --fork --mount-proc --propagation private \
			"$here/sandbox.sh" "$scratch" "$egen" run "^syscall\\.$action\$" --all --sleep 0s
	) >"$out/$id.log" 2>&1 </dev/null || status=$?
	rmdir "$scratch" 2>/dev/null || true
	printf '%s\t%s\t%s\n' "$id" "$action" "$status" >>"$out/runs.tsv"
	printf '%s %-55s exit %s\n' "$id" "$action" "$status" >&2
done <"$out/actions"

# Let the last events through the pipeline, then stop the agent.
sleep 3
kill -INT "$agent"
wait "$agent" || true
agent=

"$here/report.sh" "$out" "$name" "$here/expected.tsv"
