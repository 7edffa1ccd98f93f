#!/usr/bin/env bash
# check-deb.sh DEB: install the package with dpkg, run `vigil probe` and a
# short `vigil run` of the installed /usr/bin/vigil with the installed
# config, check that SIGUSR1 reopens its file outputs (logrotate), verify
# the systemd unit with systemd-analyze where it exists, and remove the
# package (purge) whatever happened. Needs root; refuses to touch a vigil
# package that was installed before it ran.
set -euo pipefail
deb=${1:?usage: check-deb.sh bin/vigil.deb}
[ "$(id -u)" = 0 ] || { echo "check-deb: SKIP: needs root (dpkg -i)"; [ "${CI:-}" != true ] || exit 1; exit 0; }
if dpkg -s vigil >/dev/null 2>&1; then
	echo "check-deb: a vigil package is installed already: not touching it" >&2
	exit 1
fi
t0=$SECONDS
pin=/sys/fs/bpf/vigil-test-$$-deb
log=$(mktemp /tmp/vigil-deb-check.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$pin"
	dpkg --purge vigil >/dev/null 2>&1 || true
	rm -f "$log"
}
trap cleanup EXIT

dpkg -i "$deb" >/dev/null
for f in /usr/bin/vigil /lib/systemd/system/vigil.service /etc/vigil/config.yaml /etc/logrotate.d/vigil; do
	[ -e "$f" ] || { echo "check-deb: $f not installed" >&2; exit 1; }
done
[ -d /etc/vigil/rules.d ] && [ -d /etc/vigil/policies.d ] && [ -d /var/log/vigil ] || { echo "check-deb: directories missing" >&2; exit 1; }
echo "check-deb: installed $(dpkg-query -W -f='${Package} ${Version}' vigil)"

/usr/bin/vigil version
/usr/bin/vigil probe >/dev/null
echo "check-deb: vigil probe ran"
/usr/bin/vigil rules validate /etc/vigil/rules.d | tail -1

if command -v systemd-analyze >/dev/null; then
	# verify loads the unit as systemd would: unknown keys, bad values, a
	# missing ExecStart binary are errors
	out=$(systemd-analyze verify /lib/systemd/system/vigil.service 2>&1 || true)
	if printf '%s\n' "$out" | grep -i 'vigil.service' | grep -v -i 'not found\|Failed to connect'; then
		echo "check-deb: systemd-analyze verify complains about the unit" >&2
		exit 1
	fi
	echo "check-deb: systemd-analyze verify: the unit is clean"
else
	echo "check-deb: no systemd-analyze here: unit not verified"
fi

# the service's command line, with a private pin directory and state, the
# metrics on a free port and no API socket: nothing of another agent is touched
mkdir -p "$pin"
/usr/bin/vigil run --config /etc/vigil/config.yaml --policy /etc/vigil/policies.d \
	--pin-dir "$pin" --state-dir "$(dirname "$log")/vigil-deb-state-$$" --metrics-addr 127.0.0.1:0 --socket "" \
	>/dev/null 2>"$log" &
pid=$!
for _ in $(seq 1200); do
	grep -q 'msg=started' "$log" && break
	kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "check-deb: vigil run exited" >&2; exit 1; }
	sleep 0.25
done
grep -q 'msg=started' "$log" || { cat "$log" >&2; echo "check-deb: vigil run did not start in 300 s" >&2; exit 1; }
echo "check-deb: vigil run started from /usr/bin/vigil"

mv /var/log/vigil/alerts.json /var/log/vigil/alerts.json.1 # what logrotate does
kill -USR1 "$pid"
for _ in $(seq 400); do grep -q 'output files reopened' "$log" && break; sleep 0.25; done
grep -q 'output files reopened' "$log" && [ -e /var/log/vigil/alerts.json ] ||
	{ cat "$log" >&2; echo "check-deb: SIGUSR1 did not reopen /var/log/vigil/alerts.json" >&2; exit 1; }
echo "check-deb: SIGUSR1 reopened the file output"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || { cat "$log" >&2; echo "check-deb: vigil run exited $rc" >&2; exit 1; }
rm -rf "$(dirname "$log")/vigil-deb-state-$$"
dpkg --purge vigil >/dev/null
[ ! -e /usr/bin/vigil ] && [ ! -e /lib/systemd/system/vigil.service ] || { echo "check-deb: files left after purge" >&2; exit 1; }
echo "check-deb: removed; all checks passed ($((SECONDS - t0)) s)"
