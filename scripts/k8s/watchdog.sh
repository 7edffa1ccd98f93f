#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# watchdog.sh PID -- runs stop.sh when process PID ends. The test harness
# starts one beside every lab and hands it the lab's lock (an inherited,
# flocked descriptor), so a test binary that dies without cleaning up
# (panic, timeout, SIGKILL) still leaves nothing running, and the next lab
# cannot start before the cleanup is done. The harness kills it after its
# own, orderly stop.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"
while k8s_alive "$1"; do sleep 1 3>&-; done
VIGIL_K8S_LOCK_HELD=1 "$HERE/stop.sh" >>"$K8S_RUN/watchdog.log" 2>&1
