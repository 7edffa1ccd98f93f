package output

import (
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/output/termsafe"
)

// Compact renders events and alerts as one short line each, an icon per
// kind, for people watching a live stream (vigil events -o compact):
//
//	🚀 exec      1234 /usr/bin/curl https://example.com  [3f2a9c0d1e2f]
//	🔌 connect   1234 /usr/bin/curl tcp 10.0.0.5:40000 → 93.184.216.34:443
//	🚨 HIGH      shell_in_container: shell /bin/sh in container 3f2a…  [1234 /bin/sh]
//
// A line carries the same facts as the text format (facts). With Color
// set, icons' labels and severities are coloured with ANSI escapes; the
// data around them is escaped (termsafe), so only vigil's own escapes
// reach the terminal.
type Compact struct {
	Color bool
}

// KindIcon is the icon and short label of a kind, from internal/event's
// table.
func KindIcon(k event.Kind) (icon, label string) {
	row, _ := event.LookupKind(k)
	return kindIcon(k, row)
}

// kindIcon is KindIcon given k's row (zero when it has none).
func kindIcon(k event.Kind, row event.KindInfo) (icon, label string) {
	if k == event.KindAlert {
		return "🚨", "alert"
	}
	if row.Icon != "" {
		return row.Icon, row.Label
	}
	return "❓", string(k)
}

// ANSI colours.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiPurple = "\x1b[35m"
	ansiCyan   = "\x1b[36m"
)

// kindColor is the colour of kind k, given its row (zero when it has none).
func kindColor(k event.Kind, row event.KindInfo) string {
	switch k {
	case event.KindProcessExec:
		return ansiGreen
	case event.KindProcessExit:
		return ansiDim
	}
	switch row.Family {
	case event.FamilyFile:
		return ansiBlue
	case event.FamilyNetwork:
		return ansiCyan
	}
	return ansiPurple // privilege, namespaces, modules, …
}

func severityColor(s event.Severity) string {
	switch s {
	case event.SeverityCritical:
		return ansiBold + ansiRed
	case event.SeverityHigh:
		return ansiRed
	case event.SeverityMedium:
		return ansiYellow
	case event.SeverityLow:
		return ansiCyan
	}
	return ansiDim
}

func (c Compact) paint(color, s string) string {
	if !c.Color || color == "" {
		return s
	}
	return color + s + ansiReset
}

// Event renders ev.
func (c Compact) Event(ev *event.Event) string {
	var b strings.Builder
	row, _ := event.LookupKind(ev.Kind) // one lookup for the icon and the colour
	icon, label := kindIcon(ev.Kind, row)
	b.WriteString(icon)
	b.WriteByte(' ')
	b.WriteString(c.paint(kindColor(ev.Kind, row), padRight(termsafe.Escape(label)+" ", 10)))
	if p := ev.Process; p != nil {
		b.WriteString(padRight(strconv.FormatUint(uint64(p.PID), 10), 7))
		b.WriteByte(' ')
		b.WriteString(c.paint(ansiBold, termsafe.Escape(p.Binary)))
		if ev.Kind == event.KindProcessExec && len(p.Args) > 1 {
			b.WriteByte(' ')
			b.WriteString(termsafe.Escape(quoteArgs(p.Args[1:])))
		}
	}
	if f := facts(ev); len(f) > 0 {
		b.WriteByte(' ')
		b.WriteString(termsafe.Escape(strings.Join(f, " ")))
	}
	if p := ev.Process; p != nil && inContainer(p) {
		b.WriteString(c.paint(ansiDim, "  ["+termsafe.Escape(containerName(p.Container))+"]"))
	}
	return b.String()
}

// Alert renders al: severity, rule and message, then who.
func (c Compact) Alert(al *event.Alert) string {
	var b strings.Builder
	b.WriteString("🚨 ")
	b.WriteString(c.paint(severityColor(al.Rule.Severity), padRight(termsafe.Escape(strings.ToUpper(string(al.Rule.Severity))), 10)))
	b.WriteString(c.paint(ansiBold, termsafe.Escape(al.Rule.Name)))
	b.WriteString(": ")
	b.WriteString(termsafe.Escape(al.Message))
	if al.Action != "" && al.Action != event.ActionAlert {
		b.WriteString(c.paint(ansiRed, "  action="+termsafe.Escape(string(al.Action))))
	}
	if ev := al.Event; ev != nil && ev.Process != nil {
		who := strconv.FormatUint(uint64(ev.Process.PID), 10) + " " + ev.Process.Binary
		if inContainer(ev.Process) {
			who += " " + containerName(ev.Process.Container)
		}
		b.WriteString(c.paint(ansiDim, "  ["+termsafe.Escape(who)+"]"))
	}
	return b.String()
}

// inContainer says whether p runs in a container vigil knows of.
func inContainer(p *event.Process) bool {
	return p.Container != nil && p.Container.ID != event.HostContainerID && p.Container.ID != ""
}

// containerName names a process's container the way `tetra getevents -o
// compact` names a pod's: namespace/pod, once Kubernetes told them; then
// the runtime's name, then the short id. The caller escapes it: every part
// comes from outside vigil.
func containerName(c *event.Container) string {
	if c.Pod != nil && c.Pod.Name != "" {
		return c.Pod.Namespace + "/" + c.Pod.Name
	}
	if c.Name != "" {
		return c.Name
	}
	return event.ShortContainerID(c.ID)
}
