package output

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestCompact(t *testing.T) {
	exec := &event.Event{Kind: event.KindProcessExec, Process: &event.Process{PID: 1234, Binary: "/usr/bin/curl",
		Args: []string{"curl", "-s", "https://example.com"}, Container: &event.Container{ID: "3f2a9c0d1e2f3a4b", Runtime: "containerd"}}}
	conn := &event.Event{Kind: event.KindNetConnect, Process: &event.Process{PID: 1234, Binary: "/usr/bin/curl"},
		Network: &event.Network{Protocol: "tcp", SAddr: "10.0.0.5", SPort: 40000, DAddr: "2001:db8::1", DPort: 443}}
	exit := &event.Event{Kind: event.KindProcessExit, Process: &event.Process{PID: 9, Binary: "/bin/sleep"},
		Exit: &event.Exit{Signal: 9, SignalName: "SIGKILL"}}
	evil := &event.Event{Kind: event.KindFileOpen, Process: &event.Process{PID: 5, Binary: "/tmp/\x1b[2Jx\nfake"},
		File: &event.File{Path: "/etc/shadow"}}
	al := &event.Alert{Kind: event.KindAlert, Message: "shell in container", Action: event.ActionKilled,
		Rule: event.RuleRef{Name: "shell_in_container", Severity: event.SeverityHigh}, Event: exec}
	c := Compact{}
	for _, tc := range []struct {
		got  string
		want string
	}{
		{c.Event(exec), "🚀 exec      1234    /usr/bin/curl -s https://example.com  [3f2a9c0d1e2f]"},
		{c.Event(conn), "🔌 connect   1234    /usr/bin/curl tcp 10.0.0.5:40000 → [2001:db8::1]:443"},
		{c.Event(exit), "💥 exit      9       /bin/sleep signal=SIGKILL"},
		{c.Event(evil), `📂 open      5       /tmp/\x1b[2Jx\nfake /etc/shadow`},
		{c.Alert(al), "🚨 HIGH      shell_in_container: shell in container  action=killed  [1234 /usr/bin/curl 3f2a9c0d1e2f]"},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %q\nwant %q", tc.got, tc.want)
		}
	}
	colored := Compact{Color: true}.Alert(al)
	if !strings.Contains(colored, ansiRed+"HIGH") || !strings.HasSuffix(colored, ansiReset) {
		t.Errorf("no colour: %q", colored)
	}
	// a label as wide as the column still stands apart from the pid
	persona := &event.Event{Kind: event.KindPersonality, Process: &event.Process{PID: 1, Binary: "/x"}}
	if got := c.Event(persona); !strings.HasPrefix(got, "🎭 personality 1 ") {
		t.Errorf("label and pid run together: %q", got)
	}
	// every kind has an icon of its own or shares one on purpose
	for _, k := range []event.Kind{event.KindFileOpen, event.KindDNSQuery, event.KindPrivilegeChange, event.KindBPFLoad} {
		if icon, _ := KindIcon(k); icon == "❓" {
			t.Errorf("%s has no icon", k)
		}
	}
}

// TestCompactNamesPods: a pod's process is shown as namespace/pod, as
// tetra getevents -o compact shows it, on events and alerts; before
// Kubernetes told the names, the runtime's name or the short id; the
// names are escaped, whoever set them.
func TestCompactNamesPods(t *testing.T) {
	pod := func(ns, name, cname string) *event.Event {
		return &event.Event{Kind: event.KindProcessExec, Process: &event.Process{PID: 7, Binary: "/bin/sh", Args: []string{"sh"},
			Container: &event.Container{ID: "9b8c7d6e5f4a3b2c1d0e", Runtime: "containerd", Name: cname,
				Pod: &event.Pod{UID: "u1", Namespace: ns, Name: name}}}}
	}
	c := Compact{}
	for _, tc := range []struct {
		ev   *event.Event
		want string
	}{
		{pod("shop", "api-5c9d8f7b6-q4w8e", "api"), "🚀 exec      7       /bin/sh  [shop/api-5c9d8f7b6-q4w8e]"},
		{pod("", "", "api"), "🚀 exec      7       /bin/sh  [api]"},
		{pod("", "", ""), "🚀 exec      7       /bin/sh  [9b8c7d6e5f4a]"},
		{pod("shop\x1b]0;owned\x07", "x\ny", ""), `🚀 exec      7       /bin/sh  [shop\x1b]0;owned\a/x\ny]`},
	} {
		if got := c.Event(tc.ev); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
	al := &event.Alert{Kind: event.KindAlert, Message: "shell", Rule: event.RuleRef{Name: "r", Severity: event.SeverityLow},
		Event: pod("shop", "api-0", "api")}
	if got, want := c.Alert(al), "🚨 LOW       r: shell  [7 /bin/sh shop/api-0]"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	host := &event.Event{Kind: event.KindProcessExec, Process: &event.Process{PID: 8, Binary: "/bin/sh",
		Container: &event.Container{ID: event.HostContainerID}}}
	al.Event = host
	if got, want := c.Alert(al), "🚨 LOW       r: shell  [8 /bin/sh]"; got != want {
		t.Errorf("host: got  %q\nwant %q", got, want)
	}
	if got := Text(pod("shop", "api-0", "api")); !strings.Contains(got, "container=containerd:9b8c7d6e5f4a pod=shop/api-0") {
		t.Errorf("text line without the pod: %q", got)
	}
}
