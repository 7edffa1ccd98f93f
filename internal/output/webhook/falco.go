package webhook

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

// falcoPayload is the JSON object Falco's http_output posts, and the one
// falcosidekick decodes: it requires output, a known priority, rule, time
// and a non-empty output_fields.
type falcoPayload struct {
	Output       string         `json:"output"`
	Priority     string         `json:"priority"`
	Rule         string         `json:"rule"`
	Time         time.Time      `json:"time"`
	OutputFields map[string]any `json:"output_fields"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags,omitempty"`
	Hostname     string         `json:"hostname,omitempty"`
}

// FalcoPriority maps a vigil severity to the Falco priority integrations
// filter on (their minimumpriority settings).
func FalcoPriority(s event.Severity) string {
	switch s {
	case event.SeverityCritical:
		return "Critical"
	case event.SeverityHigh:
		return "Error"
	case event.SeverityMedium:
		return "Warning"
	case event.SeverityLow:
		return "Notice"
	}
	return "Informational"
}

func falcoAlert(al *event.Alert, hostname string) falcoPayload {
	if hostname == "" {
		hostname = al.Node
	}
	p := falcoPayload{
		Priority: FalcoPriority(al.Rule.Severity),
		Rule:     al.Rule.Name,
		Time:     al.Time.UTC(),
		Source:   "syscall",
		Tags:     al.Rule.Tags,
		Hostname: hostname,
	}
	f := map[string]any{
		"evt.time":          al.Time.UnixNano(),
		"evt.hostname":      hostname,
		"vigil.kind":        string(event.KindAlert),
		"vigil.severity":    string(al.Rule.Severity),
		"vigil.action":      string(al.Action),
		"vigil.message":     al.Message,
		"vigil.suppressed":  al.Suppressed,
		"container.id":      event.HostContainerID,
		"container.full_id": event.HostContainerID,
		"container.name":    event.HostContainerID,
	}
	if len(al.Rule.MITRE) > 0 {
		f["vigil.rule.mitre"] = strings.Join(al.Rule.MITRE, ",")
	}
	if ev := al.Event; ev != nil {
		f["vigil.event.kind"] = string(ev.Kind)
		f["evt.type"] = evtType(ev)
		if ev.Syscall != nil {
			f["vigil.event.syscall"] = ev.Syscall.Name
			f["evt.res"] = resName(ev.Syscall)
		}
		processFields(f, ev)
		objectFields(f, ev)
	}
	p.OutputFields = f
	p.Output = falcoOutput(al, f)
	return p
}

// falcoOutput reads like Falco's: time, priority, the message, then the
// fields that say who did it.
func falcoOutput(al *event.Alert, f map[string]any) string {
	var b strings.Builder
	b.WriteString(al.Time.UTC().Format("15:04:05.000000000"))
	b.WriteString(": ")
	b.WriteString(FalcoPriority(al.Rule.Severity))
	b.WriteByte(' ')
	b.WriteString(al.Message)
	b.WriteString(" (")
	first := true
	for _, k := range []string{"proc.exepath", "proc.cmdline", "proc.pid", "user.uid", "container.id", "k8s.ns.name", "k8s.pod.name", "fd.name"} {
		v, ok := f[k]
		if !ok || v == "" {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		fmt.Fprintf(&b, "%s=%v", k, v)
	}
	b.WriteByte(')')
	return b.String()
}

func processFields(f map[string]any, ev *event.Event) {
	p := ev.Process
	if p == nil {
		return
	}
	f["proc.pid"] = p.PID
	f["proc.ppid"] = p.PPID
	f["proc.name"] = p.Comm
	f["proc.exepath"] = p.Binary
	f["proc.cwd"] = p.Cwd
	f["proc.cmdline"] = cmdline(p)
	if len(p.Args) > 0 {
		f["proc.exe"] = p.Args[0]
		f["proc.args"] = strings.Join(p.Args[1:], " ")
	}
	f["user.uid"] = p.UID
	f["user.euid"] = p.EUID
	f["group.gid"] = p.GID
	if p.AUID != nil {
		f["user.loginuid"] = *p.AUID
	}
	f["vigil.process.exec"] = p.ExecID
	if p.TTY != "" {
		f["proc.tty"] = p.TTY
	}
	if par := ev.Parent; par != nil {
		f["proc.pname"] = par.Comm
		f["proc.pexepath"] = par.Binary
		f["proc.pcmdline"] = cmdline(par)
	}
	if c := p.Container; c != nil {
		containerFields(f, c)
	}
}

// containerFields are Falco's container.* and k8s.* fields. As in Falco,
// container.id is the 12-character id docker and crictl show and
// container.full_id the whole; a container without a name is named by its
// short id.
func containerFields(f map[string]any, c *event.Container) {
	short := event.ShortContainerID(c.ID)
	f["container.id"] = short
	f["container.full_id"] = c.ID
	f["container.name"] = short
	if c.Name != "" {
		f["container.name"] = c.Name
	}
	if c.Runtime != "" {
		f["container.type"] = c.Runtime
	}
	if c.Image != "" {
		ref := event.ParseImage(c.Image)
		f["container.image"] = c.Image
		f["container.image.repository"] = ref.Repository
		f["container.image.tag"] = ref.Tag
		if ref.Digest != "" {
			f["container.image.digest"] = ref.Digest
		}
	}
	if c.ImageDigest != "" {
		// the digest the image was pulled by names the content, even
		// when the reference had a tag only
		f["container.image.digest"] = c.ImageDigest
	}
	pod := c.Pod
	if pod == nil {
		return
	}
	f["k8s.pod.uid"] = pod.UID
	if pod.Name != "" {
		f["k8s.ns.name"] = pod.Namespace
		f["k8s.pod.name"] = pod.Name
	}
	if w := pod.Workload; w != nil {
		f["vigil.k8s.workload.kind"] = w.Kind
		f["vigil.k8s.workload.name"] = w.Name
	}
}

// objectFields name what was acted upon the way Falco's fd.* fields do.
func objectFields(f map[string]any, ev *event.Event) {
	switch {
	case ev.File != nil:
		f["fd.name"] = ev.File.Path
		if ev.File.NewPath != "" {
			f["fs.path.target"] = ev.File.NewPath
		}
	case ev.Network != nil:
		n := ev.Network
		f["fd.l4proto"] = n.Protocol
		f["fd.lip"], f["fd.lport"] = n.SAddr, n.SPort
		f["fd.rip"], f["fd.rport"] = n.DAddr, n.DPort
		f["fd.name"] = hostPort(n.SAddr, n.SPort) + "->" + hostPort(n.DAddr, n.DPort)
	case ev.DNS != nil:
		f["fd.name"] = ev.DNS.Query
	}
}

func hostPort(addr string, port uint16) string {
	if strings.Contains(addr, ":") {
		addr = "[" + addr + "]"
	}
	return addr + ":" + strconv.Itoa(int(port))
}

// evtType names the system call the way Falco's evt.type does.
func evtType(ev *event.Event) string {
	switch ev.Kind {
	case event.KindProcessExec:
		return "execve"
	case event.KindProcessExit:
		return "procexit"
	}
	if ev.Syscall != nil && ev.Syscall.Name != "" {
		return ev.Syscall.Name
	}
	return string(ev.Kind)
}

func resName(sc *event.Syscall) string {
	if sc.Ret >= 0 {
		return "SUCCESS"
	}
	if sc.Error != "" {
		return sc.Error
	}
	return strconv.FormatInt(sc.Ret, 10)
}

func cmdline(p *event.Process) string {
	if len(p.Args) == 0 {
		return p.Comm
	}
	name := p.Comm
	if name == "" {
		name = p.Args[0]
	}
	return strings.Join(append([]string{name}, p.Args[1:]...), " ")
}
