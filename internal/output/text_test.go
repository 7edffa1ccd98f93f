package output

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

// sample is one event of a kind and what its lines must say about it.
type sample struct {
	ev   *event.Event
	want []string
}

func u32(v uint32) *uint32 { return &v }

// samples holds an event of every kind that reaches an output, with the
// facts a reader needs from its line. A kind added to internal/event
// without a sample here fails TestTextSaysWhatCompactSays.
func samples() map[event.Kind]sample {
	proc := func() *event.Process {
		return &event.Process{PID: 1234, UID: 1000, Binary: "/usr/bin/tool", Args: []string{"tool", "-x"}, Cwd: "/home/a"}
	}
	ev := func(k event.Kind) *event.Event {
		return &event.Event{Time: time.Unix(1700000000, 0), Kind: k, Process: proc(),
			Parent: &event.Process{PID: 1200, Binary: "/usr/bin/bash"}}
	}
	with := func(k event.Kind, f func(*event.Event), want ...string) sample {
		e := ev(k)
		f(e)
		return sample{e, want}
	}
	file := func(k event.Kind, f *event.File, want ...string) sample {
		return with(k, func(e *event.Event) { e.File = f; e.Syscall = &event.Syscall{Name: "x"} }, want...)
	}
	net := func(k event.Kind, n *event.Network, want ...string) sample {
		return with(k, func(e *event.Event) { e.Network = n }, want...)
	}
	priv := func(k event.Kind, f func(*event.Event), want ...string) sample {
		return with(k, func(e *event.Event) {
			e.Syscall = &event.Syscall{Name: "call", Ret: -1, Error: "EPERM", Args: []int64{262144}}
			f(e)
		}, append(want, "result=EPERM")...)
	}
	none := func(*event.Event) {}
	return map[event.Kind]sample{
		event.KindProcessExec: with(event.KindProcessExec, none, "/usr/bin/tool", "-x"),
		event.KindProcessExit: with(event.KindProcessExit, func(e *event.Event) {
			e.Exit = &event.Exit{Signal: 9, SignalName: "SIGKILL", DurationNS: 1e6}
		}, "signal=SIGKILL"),
		event.KindProcessRename: with(event.KindProcessRename, func(e *event.Event) { e.Process.Comm = "kworker/0:1" },
			"comm=kworker/0:1"),
		event.KindFileOpen: file(event.KindFileOpen, &event.File{Path: "/etc/shadow", Flags: []string{"O_WRONLY", "O_CREAT"}, Mode: 0o600},
			"/etc/shadow", "O_WRONLY|O_CREAT", "mode=600"),
		event.KindFileUnlink: file(event.KindFileUnlink, &event.File{Path: "/var/log/auth.log"}, "/var/log/auth.log"),
		event.KindFileRename: file(event.KindFileRename, &event.File{Path: "/tmp/a", NewPath: "/usr/bin/b"}, "/tmp/a", "→ /usr/bin/b"),
		event.KindFileChmod: file(event.KindFileChmod, &event.File{Path: "/tmp/sh", Mode: 0o4755, Setuid: true},
			"/tmp/sh", "mode=4755"),
		event.KindFileChown:    file(event.KindFileChown, &event.File{Path: "/tmp/sh", UID: u32(0)}, "/tmp/sh", "owner=0:-"),
		event.KindFileLink:     file(event.KindFileLink, &event.File{Path: "/etc/passwd", NewPath: "/tmp/p"}, "/etc/passwd", "→ /tmp/p"),
		event.KindFileSymlink:  file(event.KindFileSymlink, &event.File{Path: "/tmp/l", Target: "/etc/shadow"}, "/tmp/l", "→ /etc/shadow"),
		event.KindFileTruncate: file(event.KindFileTruncate, &event.File{Path: "/var/log/wtmp"}, "/var/log/wtmp"),
		event.KindFileMkdir:    file(event.KindFileMkdir, &event.File{Path: "/tmp/.hidden", Mode: 0o700}, "/tmp/.hidden", "mode=700"),
		event.KindFileXattr: file(event.KindFileXattr, &event.File{Path: "/tmp/py", Xattr: &event.Xattr{Op: "set", Name: "security.capability",
			Caps: &event.FileCaps{Version: 2, Permitted: []string{"CAP_SETUID"}, Effective: true}}}, "/tmp/py", "set security.capability", "caps=CAP_SETUID+ep"),
		event.KindMemfdCreate: file(event.KindMemfdCreate, &event.File{Path: "memfd:x", Name: "x", Flags: []string{"MFD_CLOEXEC"}}, "memfd:x", "MFD_CLOEXEC"),
		event.KindNetConnect: net(event.KindNetConnect, &event.Network{Protocol: "tcp", SAddr: "10.0.0.5", SPort: 40000, DAddr: "93.184.216.34", DPort: 443, Result: "ECONNREFUSED"},
			"tcp", "10.0.0.5:40000", "→ 93.184.216.34:443", "result=ECONNREFUSED"),
		event.KindNetAccept: net(event.KindNetAccept, &event.Network{Protocol: "tcp", SAddr: "::1", SPort: 22, DAddr: "::1", DPort: 50000, Result: "success"},
			"[::1]:22", "→ [::1]:50000"),
		event.KindNetListen: net(event.KindNetListen, &event.Network{Protocol: "tcp", SAddr: "0.0.0.0", SPort: 4444, Backlog: 5, Result: "success"},
			"0.0.0.0:4444", "backlog=5"),
		event.KindNetBind: net(event.KindNetBind, &event.Network{Protocol: "udp", SAddr: "0.0.0.0", SPort: 53, Result: "EADDRINUSE"},
			"udp", "0.0.0.0:53", "result=EADDRINUSE"),
		event.KindNetSocket: net(event.KindNetSocket, &event.Network{Protocol: "raw", Family: "packet", Result: "EPERM"}, "raw", "result=EPERM"),
		event.KindNetClose: net(event.KindNetClose, &event.Network{Protocol: "tcp", SAddr: "10.0.0.5", SPort: 40000, DAddr: "10.0.0.9", DPort: 80,
			OldState: "ESTABLISHED", State: "CLOSE"}, "10.0.0.5:40000", "→ 10.0.0.9:80", "state=ESTABLISHED→CLOSE"),
		event.KindDNSQuery: with(event.KindDNSQuery, func(e *event.Event) {
			e.DNS = &event.DNS{Query: "evil.example", Type: "TXT"}
			e.Network = &event.Network{Protocol: "udp", DAddr: "1.1.1.1", DPort: 53}
		}, "TXT evil.example", "@1.1.1.1:53"),
		event.KindFdRedirect: with(event.KindFdRedirect, func(e *event.Event) {
			e.Redirect = &event.Redirect{OldFD: 3, NewFD: 1}
			e.Network = &event.Network{Protocol: "tcp", DAddr: "10.0.0.9", DPort: 4444}
		}, "fd 3 → 1", "→ 10.0.0.9:4444"),
		event.KindNetPayload: net(event.KindNetPayload, &event.Network{Protocol: "tcp", SAddr: "10.0.0.5", SPort: 40000, DAddr: "10.0.0.9", DPort: 8000,
			Payload: "java_class", PayloadHead: "cafebabe0000003d"}, "10.0.0.5:40000", "→ 10.0.0.9:8000", "payload=java_class"),
		event.KindPrivilegeChange: priv(event.KindPrivilegeChange, func(e *event.Event) {
			e.Privilege = &event.Privilege{Before: event.Creds{EUID: 1000, EGID: 1000}, After: event.Creds{EUID: 0, EGID: 0},
				CapsBefore: &event.Caps{}, CapsAfter: &event.Caps{Effective: []string{"CAP_SYS_ADMIN"}}}
		}, "uid 1000 → 0", "gid 1000 → 0", "caps +CAP_SYS_ADMIN"),
		event.KindPtrace: priv(event.KindPtrace, func(e *event.Event) {
			e.Target = &event.Target{PID: 1, Binary: "/sbin/init", Request: "PTRACE_ATTACH"}
		}, "PTRACE_ATTACH", "target 1 /sbin/init"),
		event.KindProcessSignal: with(event.KindProcessSignal, func(e *event.Event) {
			e.Syscall = &event.Syscall{Name: "kill", Args: []int64{812, 9}}
			e.Target = &event.Target{PID: 812, Comm: "auditd", Binary: "/usr/sbin/auditd", Signal: 9, SignalName: "SIGKILL"}
		}, "SIGKILL", "target 812", "auditd", "/usr/sbin/auditd"),
		event.KindProcessVMWrite: priv(event.KindProcessVMWrite, func(e *event.Event) {
			e.Target = &event.Target{PID: 77, Binary: "/usr/sbin/sshd"}
		}, "target 77 /usr/sbin/sshd"),
		event.KindNamespaceChange: priv(event.KindNamespaceChange, func(e *event.Event) {
			e.Namespace = &event.Namespace{Types: []string{"user", "mnt"}}
		}, "user,mnt"),
		event.KindMount: priv(event.KindMount, func(e *event.Event) {
			e.Mount = &event.Mount{Source: "/dev/sda1", Target: "/mnt", FSType: "ext4", Flags: []string{"MS_RDONLY"}}
		}, "/dev/sda1", "/mnt", "ext4", "MS_RDONLY"),
		event.KindUmount: priv(event.KindUmount, func(e *event.Event) {
			e.Mount = &event.Mount{Target: "/proc", Flags: []string{"MNT_DETACH"}}
		}, "/proc", "MNT_DETACH"),
		event.KindChroot: priv(event.KindChroot, func(e *event.Event) { e.File = &event.File{Path: "/srv/jail"} }, "/srv/jail"),
		event.KindPivotRoot: priv(event.KindPivotRoot, func(e *event.Event) {
			e.Mount = &event.Mount{Source: "/newroot", Target: "/newroot/old"}
		}, "/newroot", "/newroot/old"),
		event.KindModuleLoad: priv(event.KindModuleLoad, func(e *event.Event) {
			e.Module = &event.Module{Name: "rootkit", Path: "/tmp/rootkit.ko"}
		}, "rootkit", "/tmp/rootkit.ko"),
		event.KindModuleUnload: priv(event.KindModuleUnload, func(e *event.Event) { e.Module = &event.Module{Name: "nf_tables"} }, "nf_tables"),
		event.KindBPFLoad: priv(event.KindBPFLoad, func(e *event.Event) {
			e.BPF = &event.BPF{Command: "BPF_PROG_LOAD", ProgType: "kprobe", ProgName: "hide", Target: "do_sys_open"}
		}, "BPF_PROG_LOAD", "kprobe", "hide", "do_sys_open"),
		event.KindKexecLoad:   priv(event.KindKexecLoad, func(e *event.Event) { e.Syscall.Name = "kexec_file_load" }, "kexec_file_load(262144)"),
		event.KindUserfaultfd: priv(event.KindUserfaultfd, func(e *event.Event) { e.Syscall.Name = "userfaultfd" }, "userfaultfd(262144)"),
		event.KindPersonality: priv(event.KindPersonality, func(e *event.Event) { e.Syscall.Name = "personality" }, "personality(262144)"),
		event.KindIOURingCreate: with(event.KindIOURingCreate, func(e *event.Event) {
			e.Syscall = &event.Syscall{Name: "io_uring_setup", Ret: 3, Args: []int64{8, 16, 2}}
		}, "io_uring_setup(8, 16, 2)"),
		event.KindOOMKill: with(event.KindOOMKill, func(e *event.Event) {
			e.OOM = &event.OOM{Comm: "java", TotalVMBytes: 8 << 30, TriggerPID: 1240, TriggerComm: "java"}
		}, "victim java", "total_vm=8388608kB", "trigger 1240 java"),
	}
}

// TestTextSaysWhatCompactSays checks, for every kind internal/event
// declares, that the text line carries the kind's facts (path, flags,
// endpoints, ids, the result of a failure) and everything the compact line
// says about what happened.
func TestTextSaysWhatCompactSays(t *testing.T) {
	all := samples()
	for _, k := range eventKinds(t) {
		if k == event.KindProcessFork || k == event.KindAlert {
			continue // never an event on an output
		}
		s, ok := all[k]
		if !ok {
			t.Errorf("%s has no sample here: add one, with the facts its text line must show", k)
			continue
		}
		text, compact := Text(s.ev), Compact{}.Event(s.ev)
		for _, w := range s.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: text line does not say %q:\n%s", k, w, text)
			}
			if !strings.Contains(compact, w) {
				t.Errorf("%s: compact line does not say %q:\n%s", k, w, compact)
			}
		}
		for _, f := range facts(s.ev) {
			if !strings.Contains(text, termsafe.Escape(f)) {
				t.Errorf("%s: the compact line says %q, the text line does not:\n%s\n%s", k, f, compact, text)
			}
		}
	}
}

// TestFailuresShow makes every kind's call fail and checks both lines say
// so: a refused call must not read like a granted one.
func TestFailuresShow(t *testing.T) {
	for k, s := range samples() {
		ev := *s.ev
		if ev.Network != nil && ev.DNS == nil {
			n := *ev.Network
			n.Result = "ENETUNREACH"
			ev.Network = &n
		} else {
			ev.Syscall = &event.Syscall{Name: "x", Ret: -13, Error: "ENETUNREACH"}
		}
		if k == event.KindProcessExec || k == event.KindProcessExit {
			continue // not a call's result
		}
		for name, line := range map[string]string{"text": Text(&ev), "compact": Compact{}.Event(&ev)} {
			if !strings.Contains(line, "result=ENETUNREACH") {
				t.Errorf("%s: a failed call's %s line does not say it failed:\n%s", k, name, line)
			}
		}
	}
	ev := *samples()[event.KindFileOpen].ev
	ev.Enforcement = &event.Enforcement{Policy: "protect", Rule: "shadow", Action: event.ActionDenied}
	if line := Text(&ev); !strings.Contains(line, "denied by protect/shadow") {
		t.Errorf("an enforced event does not say what was done:\n%s", line)
	}
}

func TestText(t *testing.T) {
	ev := samples()[event.KindFileOpen].ev
	at := ev.Time.Local().Format("15:04:05.000000")
	ev.Syscall = &event.Syscall{Name: "openat", Ret: -13, Error: "EACCES"}
	want := at + " file_open 1234 uid=1000 /usr/bin/tool -x  /etc/shadow O_WRONLY|O_CREAT mode=600 result=EACCES  cwd=/home/a  parent=1200 /usr/bin/bash"
	if got := Text(ev); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	exit := samples()[event.KindProcessExit].ev
	want = at + " exit  1234 uid=1000 /usr/bin/tool -x  signal=SIGKILL  lived=1ms  parent=1200 /usr/bin/bash"
	if got := Text(exit); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestIOURingRequestsSayVia: an open made by an io_uring request says so
// in every human format, as the JSON's syscall.via does.
func TestIOURingRequestsSayVia(t *testing.T) {
	ev := &event.Event{Time: time.Unix(1700000000, 0), Kind: event.KindFileOpen, Process: &event.Process{PID: 7, Binary: "/tmp/x"},
		Syscall: &event.Syscall{Name: "openat", Ret: 4, Via: "io_uring"}, File: &event.File{Path: "/etc/shadow", Flags: []string{"O_RDONLY"}}}
	for name, line := range map[string]string{"text": Text(ev), "compact": Compact{}.Event(ev)} {
		if !strings.Contains(line, "via io_uring") || !strings.Contains(line, "/etc/shadow") {
			t.Errorf("%s line %q does not say the open of /etc/shadow came via io_uring", name, line)
		}
	}
}
