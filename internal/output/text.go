package output

import (
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

// Text renders ev as one readable line: who (pid, uid, binary and
// arguments), then what it did (the facts the compact format shows too:
// path and flags, endpoints, ids, the result of a failed call), then
// where (cwd, parent, container):
//
//	15:04:05.000000 open  1234 uid=1000 /usr/bin/cat /etc/shadow  /etc/shadow O_RDONLY result=EACCES  cwd=/home/a  parent=1200 /usr/bin/bash
//
// Whatever the event holds that a terminal would act on is escaped.
func Text(ev *event.Event) string {
	var b strings.Builder
	b.WriteString(ev.Time.Local().Format("15:04:05.000000"))
	b.WriteByte(' ')
	b.WriteString(padRight(shortKind(ev.Kind), 5))
	p := ev.Process
	if p != nil {
		b.WriteByte(' ')
		b.WriteString(strconv.FormatUint(uint64(p.PID), 10))
		b.WriteString(" uid=")
		b.WriteString(strconv.FormatUint(uint64(p.UID), 10))
		b.WriteByte(' ')
		b.WriteString(p.Binary)
		if len(p.Args) > 1 {
			b.WriteByte(' ')
			b.WriteString(quoteArgs(p.Args[1:]))
		}
	}
	if f := facts(ev); len(f) > 0 {
		b.WriteString("  ")
		b.WriteString(strings.Join(f, " "))
	}
	if ev.Exit != nil {
		b.WriteString("  lived=")
		b.WriteString(time.Duration(ev.Exit.DurationNS).Round(time.Microsecond).String())
	} else if p != nil && p.Cwd != "" {
		b.WriteString("  cwd=")
		b.WriteString(p.Cwd)
	}
	if ev.Parent != nil {
		b.WriteString("  parent=")
		b.WriteString(strconv.FormatUint(uint64(ev.Parent.PID), 10))
		b.WriteByte(' ')
		b.WriteString(ev.Parent.Binary)
	}
	if p != nil {
		if c := p.Container; c != nil && c.ID != event.HostContainerID {
			b.WriteString("  container=")
			b.WriteString(c.Runtime)
			b.WriteByte(':')
			b.WriteString(event.ShortContainerID(c.ID))
			if c.Pod != nil && c.Pod.Name != "" {
				b.WriteString(" pod=")
				b.WriteString(c.Pod.Namespace)
				b.WriteByte('/')
				b.WriteString(c.Pod.Name)
			}
		}
	}
	var cut []string
	if p != nil {
		cut = append(cut, p.Truncated...)
	}
	if ev.File != nil {
		for _, f := range ev.File.Truncated {
			cut = append(cut, "file."+f)
		}
	}
	if len(cut) > 0 {
		b.WriteString("  truncated=")
		b.WriteString(strings.Join(cut, ","))
	}
	// one pass over the whole line: no field can be forgotten
	return termsafe.Escape(b.String())
}

// AlertText renders an alert as one line: severity, rule, message, then
// the event's process. The message is escaped here, not when the rule
// renders it, so that JSON keeps what the event held.
//
//	15:04:05.000000 ALERT high  shell_in_container: shell /bin/sh started in container 3f2a…  [1234 /bin/sh]
func AlertText(al *event.Alert) string {
	var b strings.Builder
	b.WriteString(al.Time.Local().Format("15:04:05.000000"))
	b.WriteString(" ALERT ")
	b.WriteString(padRight(string(al.Rule.Severity), 8))
	b.WriteString(al.Rule.Name)
	b.WriteString(": ")
	b.WriteString(al.Message)
	if al.Action != "" && al.Action != event.ActionAlert {
		b.WriteString("  action=")
		b.WriteString(string(al.Action))
	}
	if al.Suppressed > 0 {
		b.WriteString("  (+")
		b.WriteString(strconv.FormatUint(al.Suppressed, 10))
		b.WriteString(" suppressed)")
	}
	if ev := al.Event; ev != nil && ev.Process != nil {
		p := ev.Process
		b.WriteString("  [")
		b.WriteString(strconv.FormatUint(uint64(p.PID), 10))
		b.WriteByte(' ')
		b.WriteString(p.Binary)
		b.WriteByte(']')
	}
	return termsafe.Escape(b.String())
}

func shortKind(k event.Kind) string {
	s := string(k)
	if rest, ok := strings.CutPrefix(s, "process_"); ok {
		return rest
	}
	return s
}

func padRight(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

// quoteArgs joins arguments, quoting those a shell would split and those
// holding what the terminal would act on, so each stays one visible word.
func quoteArgs(args []string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`") || termsafe.Escape(a) != a {
			parts[i] = strconv.Quote(a)
		} else {
			parts[i] = a
		}
	}
	return strings.Join(parts, " ")
}
