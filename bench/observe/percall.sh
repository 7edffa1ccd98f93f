#!/bin/sh
# The CPU observer's cost per call, against an older vigil and libbpf-tools'
# runqlat on the same load, in alternating rounds. With
# kernel.bpf_stats_enabled on, each tool's sched_* programs' run count and
# run time (bpftool, by the pid that holds them) are read before and after
# `perf bench sched messaging` (a tool's programs are the sched_* programs
# that appeared when it started: this bpftool cannot list programs by pid,
# so nothing else should load sched_* programs meanwhile); the load's own
# CPU time (perf and its
# children, user + system) is beside them, so that the overhead can be
# estimated as runs x ns/run / CPU time.
# Usage: bench/observe/percall.sh OLD_VIGIL NEW_VIGIL [ROUNDS] (root)
# Prints one line per tool and round: tool runs ns/run load_cpu_s share.
set -eu
OLD=$1 NEW=$2 ROUNDS=${3:-5}
LOAD="perf bench sched messaging -g 2 -l 100"
PORT=19562
was=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
PID= IDS= TIMES=$(mktemp)
cleanup() {
	rm -f "$TIMES"
	[ -z "$PID" ] || { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }
	sysctl -qw kernel.bpf_stats_enabled="$was"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
sched_ids() { bpftool prog show -j | jq -c '[.[] | select(.name | startswith("sched_")) | .id]'; }

start() { # $1: old, new or runqlat
	before=$(sched_ids)
	case $1 in
	runqlat)
		runqlat >/dev/null 2>&1 &
		PID=$!
		until [ "$(sched_ids)" != "$before" ]; do sleep 0.2; done
		sleep 1 ;;
	*)
		bin=$OLD; [ "$1" = new ] && bin=$NEW
		"$bin" run --observe cpu --metrics-addr 127.0.0.1:$PORT --socket "" --pin-dir "/sys/fs/bpf/h15s-$$" \
			--state-dir "" --output /dev/null >/dev/null 2>&1 &
		PID=$!
		until curl -sf 127.0.0.1:$PORT/readyz >/dev/null 2>&1; do
			kill -0 "$PID" || { echo "$1 exited" >&2; exit 1; }
			sleep 0.2
		done ;;
	esac
	IDS=$(sched_ids | jq -c --argjson b "$before" '. - $b')
}
stop() { kill -INT "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
# runs and run time (ns) of the tool's sched_* programs
stats() {
	bpftool prog show -j | jq -r --argjson ids "$IDS" '[.[] | select(.id as $i | $ids | index($i))]
		| "\(map(.run_cnt // 0) | add // 0) \(map(.run_time_ns // 0) | add // 0)"'
}
one() { # $1: tool
	start "$1"
	set -- "$1" $(stats)
	/usr/bin/time -o "$TIMES" -f '%U %S' $LOAD >/dev/null 2>&1
	cpu=$(awk '{print $1 + $2}' "$TIMES")
	set -- "$@" $(stats)
	stop
	awk -v t="$1" -v r0="$2" -v n0="$3" -v r1="$4" -v n1="$5" -v cpu="$cpu" 'BEGIN {
		r = r1 - r0; ns = n1 - n0
		printf "%-8s %9d runs %6.0f ns/run  load %.3f CPU s  share %.2f %%\n", t, r, r ? ns / r : 0, cpu, ns / 1e9 / cpu * 100 }'
}

echo "# $(date -u +%FT%TZ) load average $(cut -d' ' -f1-3 /proc/loadavg); $LOAD"
i=0
while [ $i -lt "$ROUNDS" ]; do
	if [ $((i % 2)) -eq 0 ]; then order="old new runqlat"; else order="runqlat new old"; fi
	for t in $order; do one "$t"; done
	i=$((i + 1))
done
echo "# $(date -u +%FT%TZ) load average $(cut -d' ' -f1-3 /proc/loadavg)"
