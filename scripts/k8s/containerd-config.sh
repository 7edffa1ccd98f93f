#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# containerd-config.sh -- a config for the lab's own containerd (Debian's
# 1.6), started by hand beside any containerd the machine runs: root, state
# and socket under $K8S_CD; CNI from Debian's containernetworking-plugins
# (/usr/lib/cni) with the lab's bridge network; the locally built pause
# image as the sandbox image; pod network namespaces under the state dir;
# restrict_oom_score_adj, because root here may lack CAP_SYS_RESOURCE (a
# negative oom_score_adj for sandboxes then makes runc fail with "can't get
# final child's PID from pipe: EOF").
set -euo pipefail
. "$(dirname "$0")/env.sh"
cni_bin=${VIGIL_K8S_CNI_BIN:-/usr/lib/cni}
mkdir -p "$K8S_CD/root" "$K8S_CD/state" "$K8S_CNI/net.d"
containerd config default | sed \
	-e "s#^root = \"/var/lib/containerd\"#root = \"$K8S_CD/root\"#" \
	-e "s#^state = \"/run/containerd\"#state = \"$K8S_CD/state\"#" \
	-e "s#address = \"/run/containerd/containerd.sock\"#address = \"$K8S_CRI_SOCKET\"#" \
	-e "s#bin_dir = \"/opt/cni/bin\"#bin_dir = \"$cni_bin\"#" \
	-e "s#conf_dir = \"/etc/cni/net.d\"#conf_dir = \"$K8S_CNI/net.d\"#" \
	-e "s#sandbox_image = \"registry.k8s.io/pause:[0-9.]*\"#sandbox_image = \"$K8S_PAUSE_IMAGE\"#" \
	-e 's#restrict_oom_score_adj = false#restrict_oom_score_adj = true#' \
	-e 's#netns_mounts_under_state_dir = false#netns_mounts_under_state_dir = true#' \
	>"$K8S_CD/config.toml"
for k in "root = \"$K8S_CD/root\"" "address = \"$K8S_CRI_SOCKET\"" "sandbox_image = \"$K8S_PAUSE_IMAGE\"" \
	"netns_mounts_under_state_dir = true"; do
	grep -qF "$k" "$K8S_CD/config.toml" || { echo "containerd-config: $(containerd --version) config default has no '$k'" >&2; exit 1; }
done
# one bridge, host-local IPAM with its state under the lab; no masquerade
# and no portmap: the lab changes no iptables rules
cat >"$K8S_CNI/net.d/10-vigil-k8s.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "vigil-k8s",
  "plugins": [
    {"type": "bridge", "bridge": "$K8S_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$K8S_POD_CIDR"}]],
              "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$K8S_CNI/ipam"}}
  ]
}
JSON
