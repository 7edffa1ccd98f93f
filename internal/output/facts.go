package output

import (
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// facts says what an event did, beyond who did it: the path and flags of
// a file event, the endpoints of a socket, the ids a privilege change went
// between, and the outcome of a call that failed. Every human format shows
// all of them, so that no format says less than another. They are raw
// data: the formats escape them.
func facts(ev *event.Event) []string {
	var out []string
	add := func(s ...string) {
		for _, x := range s {
			if x != "" {
				out = append(out, x)
			}
		}
	}
	switch {
	case ev.Kind == event.KindProcessRename && ev.Process != nil:
		add("comm=" + ev.Process.Comm)
	case ev.Exit != nil:
		x := ev.Exit
		if x.Signal != 0 {
			name := x.SignalName
			if name == "" {
				name = strconv.Itoa(x.Signal)
			}
			add("signal=" + name)
		} else {
			add("code=" + strconv.Itoa(x.Code))
		}
		if x.CoreDumped {
			add("core_dumped")
		}
	case ev.File != nil:
		add(fileFacts(ev.File)...)
	case ev.DNS != nil:
		add(ev.DNS.Type, ev.DNS.Query)
		if n := ev.Network; n != nil && n.DAddr != "" {
			add("@" + hostPort(n.DAddr, n.DPort))
		}
	case ev.Network != nil:
		n := ev.Network
		add(n.Protocol)
		if n.SAddr != "" {
			add(hostPort(n.SAddr, n.SPort))
		}
		if n.DAddr != "" {
			add("→ " + hostPort(n.DAddr, n.DPort))
		}
		if n.Backlog != 0 {
			add("backlog=" + strconv.Itoa(n.Backlog))
		}
		if n.State != "" {
			add("state=" + arrow(n.OldState, n.State))
		}
		if n.Payload != "" {
			add("payload=" + n.Payload)
		}
		if ev.Redirect != nil {
			add("fd " + strconv.Itoa(ev.Redirect.OldFD) + " → " + strconv.Itoa(ev.Redirect.NewFD))
		}
	case ev.Redirect != nil:
		add("fd " + strconv.Itoa(ev.Redirect.OldFD) + " → " + strconv.Itoa(ev.Redirect.NewFD))
	case ev.Privilege != nil:
		add(privilegeFacts(ev.Privilege)...)
	case ev.Target != nil:
		t := ev.Target
		add(t.Request, t.SignalName, "target "+strconv.FormatUint(uint64(t.PID), 10), t.Comm, t.Binary)
		if t.Agent {
			add("(vigil)")
		}
	case ev.Namespace != nil:
		add(strings.Join(ev.Namespace.Types, ","))
	case ev.Mount != nil:
		m := ev.Mount
		add(m.Source, m.Target, m.FSType, strings.Join(m.Flags, "|"))
	case ev.Module != nil:
		add(ev.Module.Name, ev.Module.Path)
	case ev.BPF != nil:
		b := ev.BPF
		add(b.Command, b.ProgType, b.ProgName, b.AttachType, b.Target)
	case ev.OOM != nil:
		o := ev.OOM
		add("victim "+o.Comm, "total_vm="+strconv.FormatUint(o.TotalVMBytes>>10, 10)+"kB",
			"trigger "+strconv.FormatUint(uint64(o.TriggerPID), 10)+" "+o.TriggerComm)
	case ev.Syscall != nil && ev.Kind != event.KindProcessExec:
		// kexec_load, userfaultfd, personality: the call is all there is
		add(call(ev.Syscall))
	}
	add(result(ev))
	if s := ev.Syscall; s != nil && s.Via != "" {
		add("via " + s.Via) // no system call of the process did it
	}
	if e := ev.Enforcement; e != nil {
		by := e.Policy
		if e.Rule != "" {
			by += "/" + e.Rule
		}
		s := string(e.Action) + " by " + by
		if e.Error != "" {
			s += " (" + e.Error + ")"
		}
		add(s)
	}
	return out
}

func fileFacts(f *event.File) []string {
	out := []string{f.Path}
	if f.NewPath != "" {
		out = append(out, "→ "+f.NewPath)
	}
	if f.Target != "" {
		out = append(out, "→ "+f.Target)
	}
	if len(f.Flags) > 0 {
		out = append(out, strings.Join(f.Flags, "|"))
	}
	if f.Mode != 0 {
		out = append(out, "mode="+strconv.FormatUint(uint64(f.Mode), 8))
	}
	if f.UID != nil || f.GID != nil {
		out = append(out, "owner="+optID(f.UID)+":"+optID(f.GID))
	}
	if f.AliasOf != "" {
		out = append(out, "alias of "+f.AliasOf)
	}
	if f.OpenedAs != "" {
		out = append(out, "opened as "+f.OpenedAs)
	}
	if x := f.Xattr; x != nil {
		out = append(out, x.Op+" "+x.Name)
		if c := x.Caps; c != nil {
			set := "+p"
			if c.Effective {
				set = "+ep"
			}
			out = append(out, "caps="+strings.Join(c.Permitted, ",")+set)
		}
	}
	return out
}

// privilegeFacts gives the effective ids before and after (what the
// process could do), and the capabilities it gained.
func privilegeFacts(p *event.Privilege) []string {
	out := []string{"uid " + strconv.FormatUint(uint64(p.Before.EUID), 10) + " → " + strconv.FormatUint(uint64(p.After.EUID), 10)}
	if p.Before.EGID != p.After.EGID {
		out = append(out, "gid "+strconv.FormatUint(uint64(p.Before.EGID), 10)+" → "+strconv.FormatUint(uint64(p.After.EGID), 10))
	}
	if p.CapsAfter != nil {
		var before []string
		if p.CapsBefore != nil {
			before = p.CapsBefore.Effective
		}
		var gained []string
		for _, c := range p.CapsAfter.Effective {
			if !slices.Contains(before, c) {
				gained = append(gained, c)
			}
		}
		if len(gained) > 0 {
			out = append(out, "caps +"+strings.Join(gained, ",+"))
		}
	}
	return out
}

// result names the outcome of a call that did not simply succeed: the
// errno, or a socket's result (EINPROGRESS for a non-blocking connect).
func result(ev *event.Event) string {
	if n := ev.Network; n != nil && n.Result != "" {
		if n.Result == "success" {
			return ""
		}
		return "result=" + n.Result
	}
	if s := ev.Syscall; s != nil && s.Ret < 0 {
		if s.Error != "" {
			return "result=" + s.Error
		}
		return "result=" + strconv.FormatInt(s.Ret, 10)
	}
	return ""
}

func call(s *event.Syscall) string {
	if s.Name == "" {
		return ""
	}
	args := make([]string, len(s.Args))
	for i, a := range s.Args {
		args[i] = strconv.FormatInt(a, 10)
	}
	return s.Name + "(" + strings.Join(args, ", ") + ")"
}

func arrow(from, to string) string {
	if from == "" || from == to {
		return to
	}
	return from + "→" + to
}

func optID(id *uint32) string {
	if id == nil {
		return "-"
	}
	return strconv.FormatUint(uint64(*id), 10)
}

func hostPort(addr string, port uint16) string {
	if port == 0 {
		return addr
	}
	if strings.Contains(addr, ":") {
		addr = "[" + addr + "]"
	}
	return addr + ":" + strconv.Itoa(int(port))
}
