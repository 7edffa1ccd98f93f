package output

import (
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// Text renders ev as one readable line:
//
//	15:04:05.000000 exec  1234 uid=1000 /usr/bin/cat /etc/hostname  cwd=/home/a  parent=1200 /usr/bin/bash  container=host
func Text(ev *event.Event) string {
	var b strings.Builder
	b.WriteString(ev.Time.Local().Format("15:04:05.000000"))
	b.WriteByte(' ')
	b.WriteString(padRight(shortKind(ev.Kind), 5))
	p := ev.Process
	if p == nil {
		return b.String()
	}
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
	if ev.Exit != nil {
		writeExit(&b, ev.Exit)
	} else if p.Cwd != "" {
		b.WriteString("  cwd=")
		b.WriteString(p.Cwd)
	}
	if ev.Parent != nil {
		b.WriteString("  parent=")
		b.WriteString(strconv.FormatUint(uint64(ev.Parent.PID), 10))
		b.WriteByte(' ')
		b.WriteString(ev.Parent.Binary)
	}
	if c := p.Container; c != nil && c.ID != event.HostContainerID {
		b.WriteString("  container=")
		b.WriteString(c.Runtime)
		b.WriteByte(':')
		b.WriteString(shortID(c.ID))
	}
	if len(p.Truncated) > 0 {
		b.WriteString("  truncated=")
		b.WriteString(strings.Join(p.Truncated, ","))
	}
	return b.String()
}

// AlertText renders an alert as one line: severity, rule, message, then
// the event's process.
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
	if p := al.Event.Process; p != nil {
		b.WriteString("  [")
		b.WriteString(strconv.FormatUint(uint64(p.PID), 10))
		b.WriteByte(' ')
		b.WriteString(p.Binary)
		b.WriteByte(']')
	}
	return b.String()
}

func writeExit(b *strings.Builder, x *event.Exit) {
	if x.Signal != 0 {
		b.WriteString("  signal=")
		if x.SignalName != "" {
			b.WriteString(x.SignalName)
		} else {
			b.WriteString(strconv.Itoa(x.Signal))
		}
	} else {
		b.WriteString("  code=")
		b.WriteString(strconv.Itoa(x.Code))
	}
	b.WriteString("  lived=")
	b.WriteString(time.Duration(x.DurationNS).Round(time.Microsecond).String())
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

// quoteArgs joins arguments, quoting those a shell would split.
func quoteArgs(args []string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`") {
			parts[i] = strconv.Quote(a)
		} else {
			parts[i] = a
		}
	}
	return strings.Join(parts, " ")
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
