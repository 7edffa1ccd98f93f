package falcoimport

import (
	"fmt"
	"strconv"
	"strings"
)

// ftype is a vigil field's CEL type as the translator needs it.
type ftype int

const (
	tString ftype = iota
	tInt
	tBool
	tStrList
)

// fieldMap is how one Falco field reads in vigil: a CEL expression of
// the given type. plain marks an expression that is a field path as it
// stands, usable in a vigil exception.
type fieldMap struct {
	falco string
	expr  string
	typ   ftype
	plain bool
	note  string
}

// proc.exe and proc.args are read from argv; the guards keep an empty
// argv from being an index error.
const (
	argv0     = `(size(process.args) > 0 ? process.args[0] : "")`
	argsTail  = `(size(process.args) > 1 ? process.cmdline.substring(size(process.args[0]) + 1) : "")`
	imageRepo = `(container.image.lastIndexOf(":") > container.image.lastIndexOf("/") ? ` +
		`container.image.substring(0, container.image.lastIndexOf(":")) : container.image)`
	imageTag = `(container.image.lastIndexOf(":") > container.image.lastIndexOf("/") ? ` +
		`container.image.substring(container.image.lastIndexOf(":") + 1) : "")`
	serverAddr = `(kind in ["net_accept", "net_listen", "net_bind"] ? network.saddr : network.daddr)`
	serverPort = `(kind in ["net_accept", "net_listen", "net_bind"] ? network.sport : network.dport)`
	clientAddr = `(kind in ["net_accept", "net_listen", "net_bind"] ? network.daddr : network.saddr)`
	clientPort = `(kind in ["net_accept", "net_listen", "net_bind"] ? network.dport : network.sport)`
)

// fieldTable maps the Falco fields vigil has. docs/falco.md lists the
// same table (TestDocsMappingTable keeps them together). Fields handled
// with their operands in mind (evt.type, evt.dir, evt.num, fd.typechar,
// fd.type, proc.aname, proc.tty, evt.is_open_*) are in special.go,
// those vigil has in part (proc.env, user.name =, evt.arg[0]) in
// partial.go, the capability sets (thread.cap_*) in caps.go.
func fieldTable() []fieldMap {
	return []fieldMap{
		{"proc.name", "process.comm", tString, true, "the task name, cut at 15 characters like Falco's"},
		{"proc.exepath", "process.binary", tString, true, ""},
		{"proc.exe", argv0, tString, false, "argv[0]"},
		{"proc.cmdline", "process.cmdline", tString, true, "argv joined by spaces (Falco starts it with proc.name, vigil with argv[0])"},
		{"proc.args", argsTail, tString, false, "argv after argv[0], joined by spaces"},
		{"proc.cwd", "process.cwd", tString, true, ""},
		{"proc.pid", "process.pid", tInt, true, ""},
		{"proc.ppid", "process.ppid", tInt, true, ""},
		{"proc.vpid", "process.vpid", tInt, true, "the pid in the process's own pid namespace (1: a container's first process); 0 when unknown"},
		{"proc.tty", "process.tty", tString, true, "a name (pts/3) or \"\"; Falco's 0 reads as \"\""},
		{"proc.pname", "parent.comm", tString, true, ""},
		{"proc.pexepath", "parent.binary", tString, true, ""},
		{"proc.pexe", `(size(parent.args) > 0 ? parent.args[0] : "")`, tString, false, "the parent's argv[0]"},
		{"proc.pcmdline", "parent.cmdline", tString, true, ""},
		{"proc.is_exe_from_memfd", `process.binary.startsWith("memfd:")`, tBool, false, ""},
		{"user.uid", "process.uid", tInt, true, ""},
		{"user.loginuid", "process.auid", tInt, true, "-1 when unset"},
		{"group.gid", "process.gid", tInt, true, ""},
		{"user.name", "process.user", tString, true, "the name of process.uid in the process's own /etc/passwd; root is uid 0"},
		{"fd.name", "file.path", tString, true, "file events only: a socket's name (addresses) has no counterpart"},
		{"fd.nameraw", "file.path", tString, true, ""},
		{"fd.directory", "dirname(file.path)", tString, false, ""},
		{"fd.filename", "basename(file.path)", tString, false, ""},
		{"fd.num", "syscall.ret", tInt, true, "open: the descriptor returned, negative on failure"},
		{"fd.sip", serverAddr, tString, false, "the server end: local for accept, listen and bind, remote otherwise"},
		{"fd.sport", serverPort, tInt, false, "as fd.sip"},
		{"fd.cip", clientAddr, tString, false, "the client end, the other one"},
		{"fd.cport", clientPort, tInt, false, "as fd.cip"},
		{"fd.lip", "network.saddr", tString, true, ""},
		{"fd.lport", "network.sport", tInt, true, ""},
		{"fd.rip", "network.daddr", tString, true, ""},
		{"fd.rport", "network.dport", tInt, true, ""},
		{"fd.ip", "network.daddr", tString, true, "the remote end (Falco: either end)"},
		{"fd.port", "network.dport", tInt, true, "the remote end (Falco: either end)"},
		{"fd.l4proto", "network.protocol", tString, true, ""},
		{"evt.res", "syscall.error", tString, true, "SUCCESS reads as \"\""},
		{"evt.rawres", "syscall.ret", tInt, true, ""},
		{"evt.hostname", "node", tString, true, ""},
		{"evt.arg.path", "file.path", tString, true, ""},
		{"evt.arg.pathname", "file.path", tString, true, ""},
		{"evt.arg.name", "file.path", tString, true, "the path of the call (file events)"},
		{"evt.arg.filename", "file.path", tString, true, ""},
		{"evt.arg.oldpath", "file.path", tString, true, ""},
		{"evt.arg.newpath", "file.new_path", tString, true, ""},
		{"evt.arg.linkpath", "file.path", tString, true, "the new link (symlink)"},
		{"evt.arg.target", "file.target", tString, true, ""},
		{"evt.arg.mode", "file.mode", tInt, true, ""},
		{"evt.arg.flags", "file.flags", tStrList, true, "open flags by name"},
		{"evt.arg.request", "target.request", tString, true, "ptrace"},
		{"evt.arg.source", "mount.source", tString, true, ""},
		{"evt.arg.dir", "mount.target", tString, true, ""},
		{"evt.arg.type", "mount.fstype", tString, true, ""},
		{"container.id", "container.id", tString, true, "\"host\" outside containers, as in Falco"},
		{"container.name", "container.name", tString, true, ""},
		{"container.image", "container.image", tString, true, ""},
		{"container.image.repository", imageRepo, tString, false, "the image without its tag"},
		{"container.image.tag", imageTag, tString, false, ""},
		{"container.image.digest", "container.image_digest", tString, true, ""},
		{"container.privileged", "container.privileged", tBool, true, "Kubernetes pods"},
		{"k8s.ns.name", "k8s.ns.name", tString, true, ""},
		{"k8s.pod.name", "k8s.pod.name", tString, true, ""},
		{"k8s.pod.uid", "k8s.pod.uid", tString, true, ""},
		{"k8s.pod.label", "", tString, false, "k8s.pod.label[key]; a missing key reads as \"\""},
		{"k8s.deployment.name", `(k8s.workload.kind == "Deployment" ? k8s.workload.name : "")`, tString, false, ""},
		{"k8s.statefulset.name", `(k8s.workload.kind == "StatefulSet" ? k8s.workload.name : "")`, tString, false, ""},
		{"k8s.daemonset.name", `(k8s.workload.kind == "DaemonSet" ? k8s.workload.name : "")`, tString, false, ""},
		{"k8s.cronjob.name", `(k8s.workload.kind == "CronJob" ? k8s.workload.name : "")`, tString, false, ""},
		{"thread.cap_effective", "process.caps.effective", tStrList, true, "the set as the process's exec left it; conditions: see below"},
		{"thread.cap_permitted", "process.caps.permitted", tStrList, true, "as thread.cap_effective"},
		{"thread.cap_inheritable", "process.caps.inheritable", tStrList, true, "as thread.cap_effective"},
		{"fd.sockfamily", `(network.family == "inet" || network.family == "inet6" ? "ip" : network.family)`, tString, false, "ip or unix"},
	}
}

// fields indexes fieldTable by Falco name.
type fields map[string]fieldMap

func newFields() fields {
	m := fields{}
	for _, f := range fieldTable() {
		m[f.falco] = f
	}
	return m
}

// lookup maps a field reference, argument and transformer included.
func (fs fields) lookup(f fieldRef) (fieldMap, error) {
	m, ok := fs[f.name]
	if !ok {
		m, ok = fs.indexed(f)
	}
	if !ok {
		return m, &problem{key: "unknown field " + f.name, msg: fmt.Sprintf("unknown field %s: vigil has no counterpart", f.name)}
	}
	if f.name == "k8s.pod.label" && !f.hasArg {
		return m, &problem{key: "k8s.pod.label without [key]", msg: "k8s.pod.label needs a [key]"}
	}
	if f.hasArg && f.name == "k8s.pod.label" {
		m.expr = fmt.Sprintf(`(%q in k8s.pod.labels ? k8s.pod.labels[%q] : "")`, f.arg, f.arg)
	} else if f.hasArg && f.name != "proc.aname" {
		return m, &problem{key: "argument of " + f.name, msg: fmt.Sprintf("%s takes no argument in vigil", f)}
	}
	switch f.transform {
	case "":
	case "tolower", "toupper", "basename":
		if m.typ != tString {
			return m, &problem{key: "transformer " + f.transform, msg: fmt.Sprintf("%s of a non-string field", f)}
		}
		fn := map[string]string{"tolower": "%s.lowerAscii()", "toupper": "%s.upperAscii()", "basename": "basename(%s)"}[f.transform]
		m.expr, m.plain = fmt.Sprintf(fn, m.expr), false
	default:
		return m, &problem{key: "transformer " + f.transform, msg: fmt.Sprintf("transformer %s: vigil has no counterpart", f.transform)}
	}
	return m, nil
}

// indexed maps proc.aname[N] (N ≥ 1): the parent, then the ancestors.
func (fs fields) indexed(f fieldRef) (fieldMap, bool) {
	if f.name != "proc.aname" || !f.hasArg {
		return fieldMap{}, false
	}
	n, err := strconv.Atoi(f.arg)
	switch {
	case err != nil || n < 0:
		return fieldMap{}, false
	case n == 0:
		return fs["proc.name"], true
	case n == 1:
		return fs["proc.pname"], true
	}
	i := n - 2
	return fieldMap{falco: f.String(), typ: tString,
		expr: fmt.Sprintf(`(size(ancestors) > %d ? ancestors[%d].name : "")`, i, i)}, true
}

// quoteAll renders strings as CEL string literals.
func quoteAll(ss []string) []string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return q
}

// isOneOf tests expr against CEL literals: == one, in several; "" for none.
func isOneOf(expr string, lits []string) string {
	switch len(lits) {
	case 0:
		return ""
	case 1:
		return expr + " == " + lits[0]
	}
	return expr + " in [" + strings.Join(lits, ", ") + "]"
}

// quote renders a Go string as a CEL string literal.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\x%02x`, r)
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
