# shellcheck shell=bash disable=SC2154 # out, name, here, repo, egen, cg, action_timeout: detect.sh's
# Container mode of tools/detect/detect.sh (DETECT_CONTAINER=1, make
# detect-container), sourced by it: each event-generator action runs as
# process 1 of a real container, started by containerd and runc, where the
# generator's "only applicable to containers" actions run.
#
# * containerd: a private instance of the machine's (Debian's 1.6), its
#   root, state and socket in the work directory ($out/containerd), its CRI
#   plugin off; started before the agent, stopped at the end with every
#   container, task and snapshot of it.
# * the image: built here, with no registry (tools/detect/container-rootfs.sh
#   assembles the event-generator, busybox and the tools the actions exec,
#   scripts/k8s/mkimage.sh packs it), imported with `ctr image import`.
# * one container per action: its id is the sha256 of "<cgroup name>/aNN"
#   (64 hex digits, as runtimes make them), its cgroup <cgroup name>/<id>
#   below the one the agent watches, so vigil names the container from the
#   cgroup path and an alert belongs to the action whose container id it
#   carries; its network namespace ($name-aNN) has loopback alone, every
#   address local to it, as in the host mode's sandbox: no packet leaves.
# * privileged (`ctr run --privileged`: all capabilities, host devices) for
#   the actions DETECT_PRIVILEGED matches, which skip themselves otherwise;
#   the others run with containerd's default capabilities.
#
# Environment (besides detect.sh's):
#   DETECT_PRIVILEGED  regexp of the actions run privileged
#                      (Privileged|ReleaseAgent|ChangeThreadNamespace)
#   DETECT_TOOLS       host tools copied into the image, with their shared
#                      libraries (capsh debugfs apt-get scp nmap nc)

ctr_dir=$out/containerd
ctr_sock=$ctr_dir/containerd.sock
ctr_image=docker.io/library/$name:detect
ctr_pid=
ctr_made_run=
ctr_nets=()

ctr_bin=$(command -v ctr || true)
ctr() { "$ctr_bin" --address "$ctr_sock" --namespace default "$@"; }

# ctr_up LAYER: builds the image (the tools of the package LAYER too, when
# there is one) and starts containerd with it imported.
ctr_up() {
	local layer=$1 t
	for t in containerd ctr runc busybox sha256sum; do
		command -v "$t" >/dev/null || { echo "detect: container mode needs $t (Debian: containerd runc busybox-static)" >&2; exit 1; }
	done
	# containerd's shims and runc keep sockets and state below
	# /run/containerd whatever its config says: removed at the end when
	# this run made it.
	[ -e /run/containerd ] || ctr_made_run=1
	mkdir -p "$ctr_dir"
	local rootfs=$ctr_dir/rootfs
	# The tools of the package layer (nmap) are seen through an overlay of
	# it on /usr and /etc, in a mount namespace of the build's own.
	# shellcheck disable=SC2086,SC2016 # DETECT_TOOLS is a list; $1 is the inner shell's
	if [ -n "$layer" ] && [ -d "$layer/upper/usr" ]; then
		unshare --mount --propagation private bash -c '
			set -e
			for d in usr etc; do
				[ -d "$1/upper/$d" ] && mount -t overlay overlay -o "lowerdir=$1/upper/$d:/$d" "/$d"
			done
			shift
			exec "$@"' - "$layer" "$here/container-rootfs.sh" "$rootfs" "$egen" ${DETECT_TOOLS:-capsh debugfs apt-get scp nmap nc}
	else
		"$here/container-rootfs.sh" "$rootfs" "$egen" ${DETECT_TOOLS:-capsh debugfs apt-get scp nmap nc}
	fi >"$ctr_dir/image.log" 2>&1 || { cat "$ctr_dir/image.log" >&2; exit 1; }
	"$repo/scripts/k8s/mkimage.sh" "$rootfs" "$ctr_image" "$ctr_dir/image.tar" /event-generator
	rm -rf "$rootfs"
	cat >"$ctr_dir/config.toml" <<EOF
version = 2
root = "$ctr_dir/root"
state = "$ctr_dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$ctr_sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$ctr_dir/opt"
EOF
	containerd --config "$ctr_dir/config.toml" >"$ctr_dir/containerd.log" 2>&1 &
	ctr_pid=$!
	for _ in $(seq 150); do
		ctr version >/dev/null 2>&1 && break
		kill -0 "$ctr_pid" 2>/dev/null || break
		sleep 0.2
	done
	ctr version >/dev/null 2>&1 || { tail -20 "$ctr_dir/containerd.log" >&2; echo "detect: containerd did not start" >&2; exit 1; }
	ctr image import "$ctr_dir/image.tar" >"$ctr_dir/import.log" 2>&1 || { cat "$ctr_dir/import.log" >&2; exit 1; }
	rm -f "$ctr_dir/image.tar"
}

# ctr_id ID: the container id of action ID.
ctr_id() { printf '%s/%s' "$name" "$1" | sha256sum | cut -c1-64; }

# ctr_action ID ACTION: runs ACTION in a container of its own, output to
# $out/ID.log; returns the generator's exit status.
ctr_action() {
	local id=$1 action=$2 cid net status=0
	cid=$(ctr_id "$id")
	net=$name-$id
	ip netns add "$net"
	ctr_nets+=("$net")
	ip netns exec "$net" sh -c 'ip link set lo up &&
		ip addr add 192.0.2.2/24 dev lo &&
		ip route add local 0.0.0.0/0 dev lo table local'
	local priv=()
	if [[ $action =~ ${DETECT_PRIVILEGED:-Privileged|ReleaseAgent|ChangeThreadNamespace} ]]; then priv=(--privileged); fi
	timeout -s KILL "$action_timeout" "$ctr_bin" --address "$ctr_sock" --namespace default run "${priv[@]}" \
		--with-ns "network:/run/netns/$net" --cgroup "/$name/$cid" \
		"$ctr_image" "$cid" /event-generator run "^syscall\\.$action\$" --all --sleep 0s \
		>"$out/$id.log" 2>&1 </dev/null || status=$?
	ctr_remove "$cid"
	ip netns del "$net"
	return "$status"
}

# ctr_remove CID: the container, its task and snapshot, whatever state
# they are in.
ctr_remove() {
	ctr task kill -s KILL "$1" >/dev/null 2>&1 || true
	for _ in $(seq 50); do
		ctr task rm -f "$1" >/dev/null 2>&1 || true
		ctr task ls -q 2>/dev/null | grep -qx "$1" || break
		sleep 0.2
	done
	ctr container rm "$1" >/dev/null 2>&1 || true
}

# ctr_down: every container, the image, containerd, the network
# namespaces and the cgroups runc made in the v1 hierarchies.
ctr_down() {
	local c n d
	if [ -n "$ctr_pid" ]; then
		for c in $(ctr container ls -q 2>/dev/null); do ctr_remove "$c"; done
		ctr image rm "$ctr_image" >/dev/null 2>&1 || true
		kill "$ctr_pid" 2>/dev/null || true
		wait "$ctr_pid" 2>/dev/null || true
		ctr_pid=
	fi
	for n in "${ctr_nets[@]}"; do ip netns del "$n" 2>/dev/null || true; done
	ctr_nets=()
	for d in /sys/fs/cgroup/*/"$name"; do
		[ -d "$d" ] && [ "$d" != "$cg" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	if [ -n "$ctr_made_run" ] && [ -d /run/containerd ]; then
		find /run/containerd -depth -type d -empty -delete 2>/dev/null || true
	fi
	# A root file system a shim left mounted, then the files.
	awk -v d="$ctr_dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	rm -rf "$ctr_dir/root" "$ctr_dir/state" "$ctr_dir/opt"
}
