package rule

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

const shellRule = `
- list: shells
  items: [sh, bash]
- macro: in_container
  condition: container.id != "" && container.id != "host"
- rule: shell
  description: a shell ran
  condition: kind == "process_exec" && process.name in shells
  severity: high
  tags: [shell, T1059.004, T1059]
  message: "{process.binary} {process.args} by uid {process.uid} in {container.id}"
`

func TestMatchAlertAndMessage(t *testing.T) {
	rs := mustCompile(t, shellRule)
	alerts := run(rs, Config{}, execEv(0, "/bin/ls"), execEv(time.Second, "/usr/bin/bash", "-c", "id"))
	if len(alerts) != 1 {
		t.Fatalf("want 1 alert, got %v", ruleNames(alerts))
	}
	a := alerts[0]
	want := event.Alert{Time: epoch.Add(time.Second), Kind: event.KindAlert, Node: "n1", Action: event.ActionAlert,
		Message: "/usr/bin/bash /usr/bin/bash -c id by uid 0 in host",
		Rule:    event.RuleRef{Name: "shell", Severity: event.SeverityHigh, Tags: []string{"shell", "T1059.004", "T1059"}, MITRE: []string{"T1059.004", "T1059"}}}
	if a.Time != want.Time || a.Kind != want.Kind || a.Node != want.Node || a.Action != want.Action || a.Message != want.Message ||
		fmt.Sprint(a.Rule) != fmt.Sprint(want.Rule) || a.Event == nil || a.Event.Process.Binary != "/usr/bin/bash" {
		t.Errorf("alert\n %+v\nwant\n %+v", *a, want)
	}
}

// TestAppendOverrideToggle: later files customise earlier ones without
// copying them.
func TestAppendOverrideToggle(t *testing.T) {
	rs := mustCompile(t, shellRule, `
- list: shells
  append: true
  items: [zsh]
- rule: shell
  append: true
  condition: '&& process.uid != 1000'
  tags: [local]
- rule: other
  description: another
  condition: kind == "process_exec" && process.name == "nc"
  severity: low
- rule: other
  enabled: false
`, `
- rule: shell
  override: true
  severity: critical
  message: "shell {process.name}"
`)
	zsh := execEv(0, "/usr/bin/zsh")
	alice := execEv(time.Second, "/bin/sh")
	alice.Process.UID = 1000
	alerts := run(rs, Config{}, zsh, alice, execEv(2*time.Second, "/usr/bin/nc"))
	if got := ruleNames(alerts); !slices.Equal(got, []string{"shell"}) {
		t.Fatalf("alerts %v, want [shell] (zsh appended; uid 1000 excluded by the appended condition; other disabled)", got)
	}
	a := alerts[0]
	if a.Rule.Severity != event.SeverityCritical || a.Message != "shell zsh" || !slices.Contains(a.Rule.Tags, "local") {
		t.Errorf("override and append not applied: %+v", a.Rule)
	}
	for _, r := range rs.Rules() {
		if r.Name == "other" && r.Enabled {
			t.Error("rule other still enabled")
		}
	}
}

func TestAppendCannotReplace(t *testing.T) {
	got := compileErrors(t, shellRule, "- rule: shell\n  append: true\n  severity: low\n")
	if !strings.Contains(got, "b.yaml:3:13: rule shell: severity: cannot append to severity; use override: true to replace it") {
		t.Error(got)
	}
}

func TestExceptions(t *testing.T) {
	rs := mustCompile(t, `
- rule: etc_write
  description: a write below /etc
  condition: kind == "file_open" && file.path.startsWith("/etc/")
  severity: medium
  exceptions:
    - name: editors
      fields: [process.name, file.path]
      comps: [=, startswith]
      values:
        - [cat, /etc/motd]
    - name: uids
      fields: process.uid
      comps: in
      values: [[[7, 8]]]
`, `
- rule: etc_write
  append: true
  exceptions:
    - name: editors
      values: [[cat, /etc/hostname]]
    - name: globs
      fields: [file.path]
      comps: [glob]
      values: ["/etc/*.bak"]
`)
	root := fileEv(0, event.KindFileOpen, "/etc/passwd")
	excepted := []*event.Event{fileEv(0, event.KindFileOpen, "/etc/motd.d/x"), fileEv(0, event.KindFileOpen, "/etc/hostname"),
		fileEv(0, event.KindFileOpen, "/etc/passwd.bak")}
	uid7 := fileEv(0, event.KindFileOpen, "/etc/shadow")
	uid7.Process.UID = 7
	alerts := run(rs, Config{}, append(excepted, root, uid7)...)
	if len(alerts) != 1 || alerts[0].Event != root {
		t.Fatalf("want one alert for /etc/passwd, got %v", ruleNames(alerts))
	}
	e := NewEngine(rs, Config{})
	for _, ev := range append(excepted, uid7) {
		e.Eval(ev, nil)
	}
	if st := e.Stats().Rules[0]; st.Matches != 4 || st.Excepted != 4 {
		t.Errorf("stats %+v, want 4 matches all excepted", st)
	}
}

func TestActionsReportedUntilEnforced(t *testing.T) {
	rs := mustCompile(t, `
- rule: k
  description: kill nc
  condition: kind == "process_exec" && process.name == "nc"
  severity: high
  action: kill
- rule: d
  description: deny metadata
  condition: kind == "net_connect" && network.daddr == "169.254.169.254"
  severity: high
  action: deny
`)
	var seen []string
	nc := execEv(0, "/usr/bin/nc")
	conn := &event.Event{Time: epoch, Kind: event.KindNetConnect, Process: nc.Process, Network: &event.Network{DAddr: "169.254.169.254"}}
	alerts := run(rs, Config{OnMatch: func(r *Rule, _ *event.Event) { seen = append(seen, r.Name+":"+string(r.Action)) }}, nc, conn)
	if len(alerts) != 2 || alerts[0].Action != event.ActionWouldKill || alerts[1].Action != event.ActionWouldDeny {
		t.Errorf("alerts %v", alerts)
	}
	if !slices.Equal(seen, []string{"k:kill", "d:deny"}) {
		t.Errorf("OnMatch saw %v", seen)
	}
}

// TestAbsentObjectsReadAsZero: a field of an absent object is its zero
// value, not an error, and a failing evaluation is counted, not fatal.
func TestAbsentObjectsReadAsZero(t *testing.T) {
	rs := mustCompile(t, `
- rule: no_parent
  description: d
  condition: kind == "process_exec" && parent.binary == "" && container.id == "" && file.path == ""
  severity: low
- rule: label
  description: d
  condition: kind == "process_exec" && container.pod.labels["app"] == "web"
  severity: low
`)
	ev := execEv(0, "/bin/true")
	ev.Process.Container = nil
	e := NewEngine(rs, Config{})
	alerts := e.Eval(ev, nil)
	if got := ruleNames(alerts); !slices.Equal(got, []string{"no_parent"}) {
		t.Errorf("alerts %v", got)
	}
	st := e.Stats().Rules[1]
	if st.Errors != 1 || !strings.Contains(st.LastError, "no such key") {
		t.Errorf("label rule stats %+v: want 1 counted error", st)
	}
}

func TestFunctions(t *testing.T) {
	rs := mustCompile(t, `
- rule: f
  description: d
  condition: >
    kind == "net_connect" &&
    network.daddr.inCIDR(["10.0.0.0/8", "fd00::/8"]) && !network.daddr.inCIDR("10.1.0.0/16") &&
    basename(process.binary) == "curl" && dirname(process.binary) == "/usr/bin" &&
    process.binary.glob("/usr/*/curl") && process.args.hasAny(["-k"]) &&
    process.args.anyStartsWith(["--url="]) && process.args.anyContains(["example"]) &&
    process.args.anyEndsWith([".com"]) && process.cwd.startsWithAny(["/srv", "/home"]) &&
    process.cwd.endsWithAny(["/x"]) && process.cwd.containsAny(["alice"]) &&
    network.dport.hasBits(0x10) && network.dport.anyBits(0x3) &&
    ancestor_names == ["bash", "sshd"] && process.cmdline == "/usr/bin/curl -k --url=https://example.com"
  severity: low
`)
	ev := execEv(0, "/usr/bin/curl", "-k", "--url=https://example.com")
	ev.Kind = event.KindNetConnect
	ev.Process.Cwd = "/home/alice/x"
	ev.Parent = &event.Process{Binary: "/usr/bin/bash"}
	ev.Ancestors = []event.Ancestor{{Binary: "/usr/sbin/sshd"}}
	ev.Network = &event.Network{DAddr: "10.2.3.4", DPort: 0x13}
	if got := ruleNames(run(rs, Config{}, ev)); len(got) != 1 {
		t.Fatal("functions did not all hold")
	}
	ev.Network.DAddr = "10.1.3.4"
	if got := ruleNames(run(rs, Config{}, ev)); len(got) != 0 {
		t.Fatal("inCIDR excluded range matched")
	}
}

// TestFunctionsFalseAndEmpty: vigil's helpers over lists say false when
// no element passes, also for an empty list, and basename and dirname
// answer as path.Base and path.Dir, whichever value they hand back.
func TestFunctionsFalseAndEmpty(t *testing.T) {
	rs := mustCompile(t, `
- rule: names
  description: d
  condition: >
    basename(process.script) == "." && dirname(process.script) == "." && basename(process.comm) == "curl" &&
    basename(process.binary) == "curl" && dirname("curl") == "." && dirname(process.binary) == "/usr/bin"
  severity: low
- rule: lists
  description: d
  condition: >
    !trusted_ancestor_names.hasAny(["bash"]) && !trusted_ancestor_names.anyStartsWith(["b"]) &&
    !process.args.hasAny(["-z"]) && !process.args.anyEndsWith([".org"]) && !process.args.anyContains([]) &&
    !process.cwd.endsWithAny(["/y", "/z"]) && !process.cwd.startsWithAny([]) &&
    !network.daddr.inCIDR(["192.168.0.0/16", "fd00::/8"]) && !network.daddr.inCIDR([])
  severity: low
`)
	ev := execEv(0, "/usr/bin/curl", "-k", "--url=https://example.com")
	ev.Kind = event.KindNetConnect
	ev.Process.Comm, ev.Process.Cwd = "curl", "/home/alice/x"
	ev.Network = &event.Network{DAddr: "10.2.3.4", DPort: 443}
	got := ruleNames(run(rs, Config{Throttle: Throttle{Disabled: true}}, ev))
	slices.Sort(got)
	if !slices.Equal(got, []string{"lists", "names"}) {
		t.Errorf("alerts %v, want both rules", got)
	}
}

// TestTracks: tracked and tracked_count see what a track recorded within
// its window, in event time, and the track's own event counts.
func TestTracks(t *testing.T) {
	rs := mustCompile(t, `
- track: tools
  condition: kind == "process_exec" && process.name in ["id", "uname", "whoami"]
  key: process.parent_exec_id
  value: process.name
  window: 10s
- track: seen
  condition: kind == "file_open"
  key: file.path
  window: 1m
- rule: burst
  description: three tools
  condition: kind == "process_exec" && tracked_count("tools", process.parent_exec_id) >= 3
  severity: low
- rule: opened_then_run
  description: run after open
  condition: kind == "process_exec" && tracked("seen", process.binary)
  severity: low
`)
	burst := run(rs, Config{},
		execEv(0, "/usr/bin/id"), execEv(time.Second, "/usr/bin/id"), execEv(2*time.Second, "/usr/bin/uname"),
		execEv(3*time.Second, "/usr/bin/whoami"))
	if got := ruleNames(burst); !slices.Equal(got, []string{"burst"}) {
		t.Errorf("burst: %v", got)
	}
	slow := run(rs, Config{}, execEv(0, "/usr/bin/id"), execEv(6*time.Second, "/usr/bin/uname"), execEv(12*time.Second, "/usr/bin/whoami"))
	if len(slow) != 0 {
		t.Errorf("outside the window: %v", ruleNames(slow))
	}
	seq := run(rs, Config{}, fileEv(0, event.KindFileOpen, "/tmp/x"), execEv(30*time.Second, "/tmp/x"), execEv(2*time.Minute, "/tmp/x"))
	if got := ruleNames(seq); !slices.Equal(got, []string{"opened_then_run"}) {
		t.Errorf("tracked: %v", got)
	}
}

// TestTrackBounded: a track keeps at most max_keys keys and counts the
// ones it forgot while they still mattered.
func TestTrackBounded(t *testing.T) {
	rs := mustCompile(t, `
- track: seen
  condition: kind == "file_open"
  key: file.path
  window: 1h
  max_keys: 100
- rule: r
  description: d
  condition: kind == "process_exec" && tracked("seen", process.binary)
  severity: low
`)
	e := NewEngine(rs, Config{})
	for i := range 1000 {
		e.Eval(fileEv(time.Duration(i)*time.Millisecond, event.KindFileOpen, fmt.Sprintf("/tmp/f%d", i)), nil)
	}
	if n := len(e.byName["seen"].entries); n != 100 {
		t.Errorf("track holds %d keys, want 100", n)
	}
	if st := e.Stats(); st.TrackEvicted != 900 {
		t.Errorf("evicted %d, want 900", st.TrackEvicted)
	}
	if got := e.Eval(execEv(time.Second, "/tmp/f999"), nil); len(got) != 1 {
		t.Error("the newest key was forgotten")
	}
	if got := e.Eval(execEv(time.Second, "/tmp/f0"), nil); len(got) != 0 {
		t.Error("the oldest key was kept")
	}
}

// TestUnusedTracksAreNotFed: a track no enabled rule queries costs nothing.
func TestUnusedTracksAreNotFed(t *testing.T) {
	rs := mustCompile(t, `
- track: seen
  condition: kind == "file_open"
  key: file.path
- rule: r
  description: d
  condition: kind == "process_exec" && tracked("seen", process.binary)
  severity: low
  enabled: false
`)
	if len(rs.checks) != 0 {
		t.Errorf("%d checks indexed, want none", len(rs.checks))
	}
}

// TestInterest: what the rules want of a kind, for kernel filters.
func TestInterest(t *testing.T) {
	rs := mustCompile(t, `
- rule: etc
  description: d
  condition: kind == "file_open" && (file.path.startsWith("/etc/") || file.path == "/root/.bashrc")
  severity: low
- rule: keys
  description: d
  condition: kind in ["file_open", "file_unlink"] && file.path.endsWith("/authorized_keys")
  severity: low
- rule: port
  description: d
  condition: kind == "net_connect" && network.dport == 3333
  severity: low
- rule: every_exec
  description: d
  condition: kind == "process_exec" && process.uid != 0
  severity: low
`)
	in := rs.Interest(event.KindFileOpen)
	fp := in.Fields["file.path"]
	if in.All || fmt.Sprint(fp.Prefix, fp.Equal, fp.Suffix) != "[/etc/] [/root/.bashrc] [/authorized_keys]" {
		t.Errorf("file_open: %+v", in)
	}
	if in := rs.Interest(event.KindFileUnlink); in.All || len(in.Fields["file.path"].Suffix) != 1 || len(in.Fields["file.path"].Prefix) != 0 {
		t.Errorf("file_unlink: %+v", in)
	}
	if in := rs.Interest(event.KindNetConnect); in.All || fmt.Sprint(in.Fields["network.dport"].Ints) != "[3333]" {
		t.Errorf("net_connect: %+v", in)
	}
	if in := rs.Interest(event.KindProcessExec); !in.All {
		t.Errorf("process_exec: %+v, want all", in)
	}
	if in := rs.Interest(event.KindMount); in.All || len(in.Fields) != 0 {
		t.Errorf("mount: %+v, want nothing", in)
	}
}
