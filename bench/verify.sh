#!/usr/bin/env bash
# Time `vigil verify` over every object vigil ships (make verify's list),
# one object at a time (--jobs 1, A) against one per CPU (--jobs 0, B),
# alternating A and B in each round so that both see the same load.
# Usage (root): bench/verify.sh [rounds] [vigil binary]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
bin=${2:-bin/vigil}
mapfile -t objs < <(git ls-files '*_bpfel.o' | grep -v /testdata/)
wall() { # prints the wall seconds of vigil verify with the given flags
	local start end
	start=$(date +%s%N)
	"$bin" verify "$@" "${objs[@]}" >/dev/null
	end=$(date +%s%N)
	awk -v ns=$((end - start)) 'BEGIN { printf "%.2f", ns / 1e9 }'
}
printf 'round\tA: --jobs 1 (s)\tB: --jobs 0 (s)\tB/A\tload average\n'
for r in $(seq "$rounds"); do
	a=$(wall --jobs 1)
	b=$(wall --jobs 0)
	printf '%d\t%s\t%s\t%s\t%s\n' "$r" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')" "$(cut -d' ' -f1 /proc/loadavg)"
done
