#!/bin/sh
# The CPU observer's cost on the scheduler, two ways, in one run:
#  1. per call: with kernel.bpf_stats_enabled, each observer program's run
#     time over its run count (vigil_bpf_program_run_seconds_total /
#     vigil_bpf_program_runs_total) while `perf bench sched messaging` runs;
#  2. A/B: `perf bench sched messaging` wall time with `vigil run
#     --observe none` and with `--observe all`, alternating, ROUNDS times.
# Usage: bench/observe/run.sh [ROUNDS]   (root; builds vigil into /tmp)
set -eu
ROUNDS=${1:-4}
BIN=/tmp/vigil-bench-observe
PORT=19561
cd "$(dirname "$0")/../.."
go build -o "$BIN" ./cmd/vigil

start() { # $1: observers
	"$BIN" run --observe "$1" --bpf-stats --metrics-addr 127.0.0.1:$PORT --socket "" \
		--output /dev/null >/dev/null 2>&1 &
	PID=$!
	until curl -sf 127.0.0.1:$PORT/readyz >/dev/null 2>&1; do sleep 0.2; done
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }
bench() { perf bench sched messaging -g 2 -l 100 2>/dev/null | awk '/Total time/ {print $3}'; }

echo "# per call, --observe all, during perf bench sched messaging"
start all
bench >/dev/null
curl -s 127.0.0.1:$PORT/metrics | awk '
	/^vigil_bpf_program_runs_total\{.*sensor="observe_/ { match($0, /program="[^"]*"/); p = substr($0, RSTART+9, RLENGTH-10); runs[p] = $2 }
	/^vigil_bpf_program_run_seconds_total\{.*sensor="observe_/ { match($0, /program="[^"]*"/); p = substr($0, RSTART+9, RLENGTH-10); secs[p] = $2 }
	END { for (p in runs) if (runs[p] > 0) printf "%-22s %10d runs %8.0f ns/run\n", p, runs[p], secs[p] * 1e9 / runs[p] }'
stop

[ "$ROUNDS" -gt 0 ] || exit 0
echo "# A/B: perf bench sched messaging -g 2 -l 100, seconds (none, all)"
i=0
while [ $i -lt "$ROUNDS" ]; do
	start none; a=$(bench); stop
	start all; b=$(bench); stop
	echo "$a $b"
	i=$((i + 1))
done | awk '{ print; sa += $1; sb += $2; n++ } END { printf "mean none %.3f s, all %.3f s, ratio %.3f\n", sa/n, sb/n, sb/sa }'
