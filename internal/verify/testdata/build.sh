#!/bin/sh
# Builds the fixture objects of internal/verify's tests (go generate runs
# this from internal/verify). Same flags as bpf2go: no compiler ident, no
# directory in the debug info, DWARF stripped, so a rebuild is byte-identical.
set -eu
cc=${BPF2GO_CC:-clang-14}
strip=${BPF2GO_STRIP:-llvm-strip-14}
cflags=${BPF2GO_CFLAGS:--O2 -g -Wall -Werror -mcpu=v3}
build() { # source object [extra flags]
	src=$1 obj=$2
	shift 2
	# shellcheck disable=SC2086 # cflags is a list
	$cc $cflags "$@" -I../../bpf/include -target bpf -fno-ident \
		-fdebug-prefix-map="$PWD"=. -fdebug-compilation-dir . -g \
		-c "testdata/$src" -o "testdata/$obj"
	$strip -g "testdata/$obj"
}
build kinds.bpf.c kinds.bpf.o
build mixed.bpf.c mixed.bpf.o
build grow.bpf.c grow_small.bpf.o -DROUNDS=2
build grow.bpf.c grow_big.bpf.o -DROUNDS=64
