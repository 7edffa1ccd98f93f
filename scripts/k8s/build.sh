#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# build.sh [COMPONENT...] -- builds the Kubernetes components the lab runs
# (default: all of etcd kube-apiserver kubectl kube-controller-manager
# kube-scheduler kubelet) from the Go module proxy into $VIGIL_K8S_BIN, and
# does nothing for those already there. No registry and no git checkout: a
# wrapper module in $VIGIL_K8S_CACHE/build-$VIGIL_K8S_VERSION requires
# k8s.io/kubernetes at that version and pins every staging module
# (k8s.io/api, k8s.io/client-go, ...; k8s.io/kubernetes replaces them with
# ./staging/src paths) to its published v0.X.Y twin; etcd comes from a
# two-line main at the version Kubernetes itself requires.
# A cold build takes 12-15 minutes on 2 idle cores, up to an hour under heavy
# load; see docs/testing.md.
set -euo pipefail
. "$(dirname "$0")/env.sh"
V=$VIGIL_K8S_VERSION
DIR=$VIGIL_K8S_CACHE/build-$V
BIN=$VIGIL_K8S_BIN
read -r -a want <<<"${*:-$K8S_CLUSTER_COMPONENTS}"
need=()
for c in "${want[@]}"; do [ -x "$BIN/$c" ] || need+=("$c"); done
if [ ${#need[@]} -eq 0 ]; then
	echo "k8s build: ${want[*]} already in $BIN"
	exit 0
fi
command -v go >/dev/null || { echo "k8s build: needs go" >&2; exit 1; }
export GOFLAGS=${GOFLAGS:--buildvcs=false}

# one build at a time per cache (make test may run in two shells)
mkdir -p "$DIR"
exec 9>"$VIGIL_K8S_CACHE/build.lock"
flock 9

if [ ! -f "$DIR/go.mod" ]; then
	(
		cd "$DIR"
		go mod init vigil.local/k8sbuild >/dev/null 2>&1
		gomod=$(go mod download -json "k8s.io/kubernetes@$V" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
		[ -n "$gomod" ] || { echo "k8s build: cannot download k8s.io/kubernetes@$V" >&2; exit 1; }
		args=(-require "k8s.io/kubernetes@$V")
		while read -r mod; do
			args+=(-replace "$mod=$mod@v0.${V#v1.}")
		done < <(grep -E '^\s*k8s.io/[^ ]+ => \./staging/' "$gomod" | awk '{print $1}')
		go mod edit "${args[@]}"
		go mod edit -go="$(awk '$1=="go"{print $2; exit}' "$gomod")"
		grep -E '^godebug ' "$gomod" | while read -r _ kv; do go mod edit -godebug="$kv"; done
		cat >deps.go <<'GO'
//go:build tools

package k8sbuild

import (
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
	_ "k8s.io/kubernetes/cmd/kubelet/app"
)
GO
	)
fi
cd "$DIR"
if [ ! -f cmd/etcd/main.go ]; then
	mkdir -p cmd/etcd
	cat >cmd/etcd/main.go <<'GO'
// etcd at the version k8s.io/kubernetes requires.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
fi
go mod tidy
maj=$(echo "${V#v}" | cut -d. -f1)
min=$(echo "${V#v}" | cut -d. -f2)
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ld="$ld -X $p.gitVersion=$V -X $p.gitMajor=$maj -X $p.gitMinor=$min -X $p.gitTreeState=clean -X $p.buildDate=2020-01-01T00:00:00Z"
done
pkgs=()
for c in "${need[@]}"; do
	case $c in
	etcd) pkgs+=(./cmd/etcd) ;;
	kubectl | kube-apiserver | kube-controller-manager | kube-scheduler | kubelet) pkgs+=("k8s.io/kubernetes/cmd/$c") ;;
	*) echo "k8s build: unknown component $c" >&2; exit 1 ;;
	esac
done
t0=$SECONDS
mkdir -p "$BIN"
# into a temporary directory first: a binary in $BIN is always a whole one
tmp=$(mktemp -d "$DIR/bin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
go build -trimpath -ldflags="$ld" -o "$tmp/" "${pkgs[@]}"
mv "$tmp"/* "$BIN/"
echo "k8s build: built ${need[*]} in $((SECONDS - t0)) s into $BIN"
