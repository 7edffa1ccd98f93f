#!/usr/bin/env bash
# Prints the table of a tools/detect/detect.sh run from its work directory:
#
#   report.sh OUT CGROUP_NAME EXPECTED_TSV [ALERTS_JSON]
#
# An alert belongs to action aNN when its process's cgroup path ends in
# CGROUP_NAME/aNN, or, for an action run in a container (a fourth column
# of runs.tsv, detect.sh's container mode), when its container id is that
# container's. An action is "detected" when a rule that EXPECTED_TSV
# lists for it (a regexp of rule names) fired; other alerts are shown but
# not counted. An action the event-generator skipped (one that only applies
# in a container, or whose tool is not installed) is not counted either.
set -euo pipefail
out=$1
name=$2
expected=$3
alerts=${4:-$out/alerts.json}

# action id, container id -> "rule (T…, T…)" lines, distinct.
fired() {
	jq -r --arg cg "/$name/$1" --arg cid "${2:-}" '
		select(.kind == "alert")
		| select(if $cid != "" then (.event.process.container.id // "") == $cid
			else (.event.process.cgroup.path // "") | endswith($cg) end)
		| "\(.rule.name)\t\((.rule.mitre // []) | join(", "))"' "$alerts" 2>/dev/null | sort -u
}

hosts=0
detected=0
skipped=0
where=host
# the actions EXPECTED_TSV marks container-only (a third column; the "only
# applicable to containers" ones on a host), counted apart too
only=0
only_detected=0
echo "| action | rules that fired (ATT&CK) | behaviour detected |"
echo "|---|---|---|"
while IFS=$'\t' read -r id action status cid; do
	[ -z "${cid:-}" ] || where=container
	want=$(awk -F'\t' -v a="$action" '$1 == a { print $2; exit }' "$expected")
	rules=$(fired "$id" "${cid:-}")
	cell=$(printf '%s\n' "$rules" | awk -F'\t' 'NF { printf "%s%s%s", sep, $1, ($2 != "" ? " (" $2 ")" : ""); sep = "; " }')
	why=$(sed 's/\x1b\[[0-9;]*m//g' "$out/$id.log" | grep -io 'reason="[^"]*"' | head -1 | sed 's/^reason="//; s/"$//' || true)
	# pkexec and sudoedit "skipped" as patched ran all the same: their
	# exec is the behaviour the rules are about.
	if grep -qi 'skipped' "$out/$id.log" && [[ $why != *patched* ]]; then
		verdict="skipped: ${why:-see the log}"
		skipped=$((skipped + 1))
	else
		hosts=$((hosts + 1))
		if [ -n "$want" ] && printf '%s\n' "$rules" | cut -f1 | grep -qxE "$want"; then
			verdict=yes
			detected=$((detected + 1))
		else
			verdict=no
		fi
		if [ "$(awk -F'\t' -v a="$action" '$1 == a { print $3; exit }' "$expected")" = container-only ]; then
			only=$((only + 1))
			[ "$verdict" = yes ] && only_detected=$((only_detected + 1))
		fi
		[ "$status" = 0 ] || verdict="$verdict (exit $status)"
	fi
	echo "| $action | ${cell:--} | $verdict |"
done <"$out/runs.tsv"
echo
if [ "$where" = container ]; then
	echo "$detected of $hosts actions run in a container detected for the behaviour itself ($skipped skipped by the event-generator); of the container-only actions: $only_detected of $only"
else
	echo "$detected of $hosts host actions detected for the behaviour itself ($skipped skipped by the event-generator)"
fi
