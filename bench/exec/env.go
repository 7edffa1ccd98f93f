package main

import (
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/internal/ring"
)

// childEnv is an environment of n variables for the started /bin/true:
// those of a login session on a Debian host first (LS_COLORS, 1.5 KiB, is
// the long one; HISTSIZE and HISTCONTROL are the two the process sensor
// watches by default), then padding variables of 24 bytes.
func childEnv(n int) []string {
	session := []string{
		"SHELL=/bin/bash", "HISTCONTROL=ignoredups", "HISTSIZE=1000", "PWD=/home/alice/src", "LOGNAME=alice",
		"XDG_SESSION_TYPE=tty", "MOTD_SHOWN=pam", "HOME=/home/alice", "LANG=en_US.UTF-8",
		"LS_COLORS=" + strings.Repeat("di=01;34:ln=01;36:", 84), "SSH_CONNECTION=192.0.2.10 50522 192.0.2.20 22",
		"LESSCLOSE=/usr/bin/lesspipe %s %s", "XDG_SESSION_CLASS=user", "TERM=xterm-256color",
		"LESSOPEN=| /usr/bin/lesspipe %s", "USER=alice", "SHLVL=1", "XDG_SESSION_ID=3",
		"XDG_RUNTIME_DIR=/run/user/1000", "SSH_CLIENT=192.0.2.10 50522 22", "XDG_DATA_DIRS=/usr/local/share:/usr/share",
		"PATH=/home/alice/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus", "MAIL=/var/mail/alice", "SSH_TTY=/dev/pts/0",
		"OLDPWD=/home/alice", "EDITOR=vim", "PAGER=less", "GOPATH=/home/alice/go", "_=/usr/bin/true",
	}
	env := make([]string, 0, n)
	for i := 0; i < n; i++ {
		if i < len(session) {
			env = append(env, session[i])
		} else {
			env = append(env, fmt.Sprintf("BENCH_PAD_%05d=%010d", i, i))
		}
	}
	return env
}

// envModes are the modes of -env-only: the ring reader alone, the process
// sensor with its environment watch off against it, and with the watch on
// against the watch off, all in the same round.
func envModes(scope ring.Scope) []mode {
	m := sensorModes(scope)[:3]
	m[0].base, m[1].base, m[2].base = 0, 0, 1
	m[2].name += ", against the watch off"
	return m
}
