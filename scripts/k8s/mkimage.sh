#!/usr/bin/env bash
# mkimage.sh ROOTFS_DIR IMAGE_REF OUT_TAR [CMD...] -- packs a directory into a
# one-layer OCI image archive (oci-layout, plus a docker-save manifest.json)
# that `ctr image import` loads. Deterministic: sorted names, fixed mtime and
# owners. Needs only coreutils and tar. Default CMD: /bin/sh.
set -euo pipefail
rootfs=$1 ref=$2 out=$3
shift 3
cmd='["/bin/sh"]'
[ $# -eq 0 ] || cmd="[$(printf '"%s",' "$@" | sed 's/,$//')]"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/blobs/sha256"
blob() { # file -> moves it into blobs, prints "sha size"
	local sha size
	sha=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	mv "$1" "$w/blobs/sha256/$sha"
	echo "$sha $size"
}
tar --sort=name --mtime='2020-01-01 00:00:00' --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$w/layer" .
read -r layer_sha layer_size < <(blob "$w/layer")
cat >"$w/config" <<JSON
{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":$cmd,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:$layer_sha"]},"history":[{"created":"2020-01-01T00:00:00Z","created_by":"vigil scripts/k8s/mkimage.sh"}]}
JSON
read -r cfg_sha cfg_size < <(blob "$w/config")
cat >"$w/manifest" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$cfg_sha","size":$cfg_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$layer_sha","size":$layer_size}]}
JSON
read -r man_sha man_size < <(blob "$w/manifest")
echo '{"imageLayoutVersion":"1.0.0"}' >"$w/oci-layout"
echo "[{\"Config\":\"blobs/sha256/$cfg_sha\",\"RepoTags\":[\"$ref\"],\"Layers\":[\"blobs/sha256/$layer_sha\"]}]" >"$w/manifest.json"
cat >"$w/index.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$man_sha","size":$man_size,"annotations":{"io.containerd.image.name":"$ref","org.opencontainers.image.ref.name":"$ref"},"platform":{"architecture":"amd64","os":"linux"}}]}
JSON
tar -C "$w" -cf "$out" oci-layout index.json manifest.json blobs
