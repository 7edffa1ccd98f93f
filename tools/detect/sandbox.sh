#!/usr/bin/env bash
# Runs one command in a throwaway copy of the host, for tools/detect/detect.sh.
# It must be started by `unshare --mount --net --pid --fork --mount-proc
# --propagation private`: everything it mounts dies with those namespaces.
#
#   sandbox.sh SCRATCH COMMAND [ARG...]
#
# /etc, /root, /usr (so /bin, /sbin, /lib), /var, /home, /opt and /srv become
# overlays whose writes go to a tmpfs at SCRATCH; /tmp, /run, /dev/shm are
# empty tmpfs; /dev is a tmpfs with the few device nodes programs need;
# /proc/sys is read-only (the kernel's settings are the host's). The network
# namespace has loopback only, with 192.0.2.2 besides 127.0.0.1, and every
# address is local to it (`ip route add local 0.0.0.0/0 dev lo`): a connection to any
# address is refused at once or reaches a listener of the sandbox, and no
# packet leaves. example.com and example.net resolve to 192.0.2.10 and
# 192.0.2.11 through the overlay's /etc/hosts.
set -euo pipefail
scratch=$1
shift

# SANDBOX_KEEP=1: the writes stay in SCRATCH/upper after the sandbox is
# gone, to be a layer of later sandboxes (SANDBOX_LAYER=that SCRATCH: the
# tools detect.sh installs once for all actions).
if [ "${SANDBOX_KEEP:-}" != 1 ]; then
	mount -t tmpfs sandbox-scratch "$scratch"
fi
for d in etc root usr var home opt srv; do
	if [ ! -d "/$d" ] || [ -L "/$d" ]; then continue; fi
	mkdir -p "$scratch/upper/$d" "$scratch/work/$d"
	lower=/$d
	if [ -n "${SANDBOX_LAYER:-}" ] && [ -d "$SANDBOX_LAYER/upper/$d" ]; then
		lower=$SANDBOX_LAYER/upper/$d:/$d
	fi
	mount -t overlay overlay -o "lowerdir=$lower,upperdir=$scratch/upper/$d,workdir=$scratch/work/$d" "/$d"
done
# A private /dev: a file created there must not reach the host's devtmpfs.
mkdir -p "$scratch/dev"
for n in null zero full random urandom tty; do
	touch "$scratch/dev/$n"
	mount --bind "/dev/$n" "$scratch/dev/$n"
done
mkdir -p "$scratch/dev/shm" "$scratch/dev/pts"
mount --rbind /dev/pts "$scratch/dev/pts"
ln -s /proc/self/fd "$scratch/dev/fd"
ln -s /proc/self/fd/0 "$scratch/dev/stdin"
ln -s /proc/self/fd/1 "$scratch/dev/stdout"
ln -s /proc/self/fd/2 "$scratch/dev/stderr"
mount --rbind "$scratch/dev" /dev
mount -t tmpfs tmpfs /dev/shm
# Last: SCRATCH may be below /tmp or /run.
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run

mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys

if [ "${SANDBOX_HOST_NET:-}" != 1 ]; then
	ip link set lo up
	# An address that is not loopback's, for programs that look for one to
	# listen on (on lo: kernels without the dummy driver are common).
	ip addr add 192.0.2.2/24 dev lo
	ip route add local 0.0.0.0/0 dev lo table local
	ip -6 route add local ::/0 dev lo table local 2>/dev/null || true
	printf '192.0.2.10 example.com\n192.0.2.11 example.net\n' >>/etc/hosts
fi
# SANDBOX_HOST_NET=1 (tools/detect/benign.sh: apt-get needs its mirror)
# leaves the host's network namespace alone.

# The set-up above is the harness's own work: only now does the sandbox
# join the cgroup whose alerts are the command's.
if [ -n "${SANDBOX_CGROUP:-}" ]; then
	echo 0 >"$SANDBOX_CGROUP/cgroup.procs"
fi
cd /
# A child, not exec: the event-generator takes itself for a container when
# it is process 1 of its pid namespace, and skips every host action.
"$@"
