package falcoimport

import (
	"slices"
	"sort"
	"strings"
)

// kindSyscalls maps vigil's event kinds to the system calls (Falco's
// evt.type values) behind them. Kinds marked whole need no syscall.name
// test: their events carry no syscall object.
var kindSyscalls = []struct {
	kind     string
	syscalls []string
	whole    bool
}{
	{"process_exec", []string{"execve", "execveat"}, true},
	{"process_exit", []string{"procexit"}, true},
	{"process_fork", []string{"clone", "clone3", "fork", "vfork"}, true},
	{"file_open", []string{"open", "openat", "openat2", "creat"}, false},
	{"file_unlink", []string{"unlink", "unlinkat", "rmdir"}, false},
	{"file_rename", []string{"rename", "renameat", "renameat2"}, false},
	{"file_chmod", []string{"chmod", "fchmod", "fchmodat"}, false},
	{"file_chown", []string{"chown", "fchown", "fchownat", "lchown"}, false},
	{"file_link", []string{"link", "linkat"}, false},
	{"file_symlink", []string{"symlink", "symlinkat"}, false},
	{"file_truncate", []string{"truncate", "ftruncate"}, false},
	{"file_mkdir", []string{"mkdir", "mkdirat"}, false},
	{"memfd_create", []string{"memfd_create"}, false},
	{"net_connect", []string{"connect"}, false},
	{"net_accept", []string{"accept", "accept4"}, false},
	{"net_listen", []string{"listen"}, false},
	{"net_bind", []string{"bind"}, false},
	{"net_socket", []string{"socket"}, false},
	{"fd_redirect", []string{"dup", "dup2", "dup3"}, false},
	{"privilege_change", []string{"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "capset"}, false},
	{"ptrace", []string{"ptrace"}, false},
	{"process_vm_writev", []string{"process_vm_writev"}, false},
	{"namespace_change", []string{"setns", "unshare"}, false},
	{"mount", []string{"mount", "move_mount"}, false},
	{"umount", []string{"umount", "umount2"}, false},
	{"chroot", []string{"chroot"}, false},
	{"pivot_root", []string{"pivot_root"}, false},
	{"module_load", []string{"init_module", "finit_module"}, false},
	{"module_unload", []string{"delete_module"}, false},
	{"bpf_load", []string{"bpf"}, false},
	{"kexec_load", []string{"kexec_load", "kexec_file_load"}, false},
	{"userfaultfd", []string{"userfaultfd"}, false},
	{"personality", []string{"personality"}, false},
}

// special translates the fields whose meaning depends on the operand.
func (t *translator) special(c *checkNode) (string, bool) {
	switch c.field.name {
	case "evt.type":
		return t.evtType(c), true
	case "evt.dir":
		return t.evtDir(c), true
	case "evt.num":
		return t.evtNum(c), true
	case "fd.typechar", "fd.type":
		return t.fdType(c), true
	case "user.name":
		return t.userName(c), true
	case "proc.tty":
		return t.procTTY(c), true
	case "evt.is_open_read", "evt.is_open_write", "evt.is_open_create":
		return t.openMode(c), true
	case "evt.res":
		if len(c.values) == 1 && c.values[0].text == "SUCCESS" && (c.op == "=" || c.op == "==" || c.op == "!=") {
			return "syscall.ret " + map[bool]string{true: ">= 0", false: "< 0"}[c.op != "!="], true
		}
	case "proc.aname", "proc.anames":
		if !c.field.hasArg && c.field.transform == "" {
			return t.anyAncestor(c), true
		}
	}
	return "", false
}

// eqTest reads a check of = / == / != / in: its values and whether it is
// negated. ok is false for any other operator.
func (t *translator) eqTest(c *checkNode) (vals []string, negated, ok bool) {
	switch c.op {
	case "=", "==", "in":
	case "!=":
		negated = true
	default:
		t.fail("operator "+c.op+" on "+c.field.name, "%s %s: only =, != and in", c.field.name, c.op)
		return nil, false, false
	}
	for _, v := range c.values {
		if l, isList := t.lists[v.text]; isList && !v.quoted {
			vals = append(vals, l.flat...)
			continue
		}
		vals = append(vals, v.text)
	}
	return vals, negated, true
}

// evtType maps system calls to event kinds. A system call without a kind
// can never match a vigil event: a test of it alone is a problem (where
// it is not negated), beside others it is left out with a note.
func (t *translator) evtType(c *checkNode) string {
	vals, negated, ok := t.eqTest(c)
	if !ok {
		return "false"
	}
	covered := map[string][]string{}
	var unknown []string
	for _, v := range vals {
		found := false
		for _, k := range kindSyscalls {
			if slices.Contains(k.syscalls, v) {
				covered[k.kind] = append(covered[k.kind], v)
				found = true
			}
		}
		if !found {
			unknown = append(unknown, v)
		}
	}
	positive := negated == t.neg
	if len(covered) == 0 && positive {
		t.probs = append(t.probs, &problem{key: "evt.type with no vigil kind",
			msg: "evt.type " + strings.Join(unknown, ", ") + ": no vigil event kind", kindless: true})
		return "false"
	}
	if len(unknown) > 0 && positive {
		t.notes = append(t.notes, "evt.type "+strings.Join(unknown, ", ")+": no vigil event kind, left out")
	}
	var wholes, parts []string
	for _, k := range kindSyscalls {
		sys, ok := covered[k.kind]
		if !ok {
			continue
		}
		if k.whole || len(sys) >= len(k.syscalls) {
			wholes = append(wholes, quote(k.kind))
			continue
		}
		sort.Strings(sys)
		q := make([]string, len(sys))
		for i, s := range sys {
			q[i] = quote(s)
		}
		parts = append(parts, "(kind == "+quote(k.kind)+" && syscall.name in ["+strings.Join(q, ", ")+"])")
	}
	switch len(wholes) {
	case 0:
	case 1:
		parts = append([]string{"kind == " + wholes[0]}, parts...)
	default:
		parts = append([]string{"kind in [" + strings.Join(wholes, ", ") + "]"}, parts...)
	}
	x := or(parts...)
	if negated {
		return not(x)
	}
	return x
}

// evtDir: vigil reports system calls at their exit (Falco's <).
func (t *translator) evtDir(c *checkNode) string {
	vals, negated, ok := t.eqTest(c)
	if !ok || len(vals) != 1 {
		return t.fail("evt.dir", "evt.dir: want = < or = >")
	}
	exit := vals[0] == "<"
	if exit != negated {
		return "true"
	}
	if negated == t.neg {
		return t.fail("evt.dir >", "evt.dir %s %s: vigil reports system calls at their exit (<) only", c.op, vals[0])
	}
	return "false"
}

// evtNum: Falco's never_true is evt.num=0; event numbers start at 1.
func (t *translator) evtNum(c *checkNode) string {
	if len(c.values) == 1 && c.values[0].text == "0" {
		switch c.op {
		case "=", "==", "<=":
			return "false"
		case "!=", ">", ">=":
			return "true"
		}
	}
	return t.fail("unknown field evt.num", "evt.num: vigil has no event numbers")
}

// fdType maps fd.typechar and fd.type to file flags and socket families.
func (t *translator) fdType(c *checkNode) string {
	vals, negated, ok := t.eqTest(c)
	if !ok {
		return "false"
	}
	var parts []string
	for _, v := range vals {
		switch v {
		case "f", "file":
			parts = append(parts, `!("O_DIRECTORY" in file.flags)`)
		case "d", "directory":
			parts = append(parts, `"O_DIRECTORY" in file.flags`)
		case "4", "ipv4":
			parts = append(parts, `network.family == "inet"`)
		case "6", "ipv6":
			parts = append(parts, `network.family == "inet6"`)
		case "u", "unix":
			parts = append(parts, `network.family == "unix"`)
		default:
			return t.fail(c.field.name+" "+v, "%s %s: vigil has no such descriptors", c.field.name, v)
		}
	}
	x := or(parts...)
	if negated {
		return not(x)
	}
	return x
}

// userName: vigil knows uids, not user names; root is uid 0.
func (t *translator) userName(c *checkNode) string {
	vals, negated, ok := t.eqTest(c)
	if !ok {
		return "false"
	}
	for _, v := range vals {
		if v != "root" {
			return t.fail("user.name other than root", "user.name %s: vigil knows uids, not user names (only root, uid 0)", v)
		}
	}
	if negated {
		return "process.uid != 0"
	}
	return "process.uid == 0"
}

// procTTY: Falco's tty is a number, 0 for none; vigil's a name.
func (t *translator) procTTY(c *checkNode) string {
	vals, negated, ok := t.eqTest(c)
	if !ok || len(vals) != 1 || vals[0] != "0" {
		return t.fail("proc.tty other than 0", "proc.tty: only = 0 and != 0 (vigil has terminal names, not numbers)")
	}
	if negated {
		return `process.tty != ""`
	}
	return `process.tty == ""`
}

// openMode reads the open flags' access mode.
func (t *translator) openMode(c *checkNode) string {
	vals, negated, ok := t.eqTest(c)
	if !ok || len(vals) != 1 || (vals[0] != "true" && vals[0] != "false") {
		return t.fail(c.field.name, "%s: want = true or = false", c.field.name)
	}
	x := map[string]string{
		"evt.is_open_read":   `file.flags.hasAny(["O_RDONLY", "O_RDWR"])`,
		"evt.is_open_write":  `file.flags.hasAny(["O_WRONLY", "O_RDWR"])`,
		"evt.is_open_create": `"O_CREAT" in file.flags`,
	}[c.field.name]
	if (vals[0] == "false") != negated {
		return not(x)
	}
	return x
}

// anyAncestor: proc.aname without an index is any ancestor's name.
func (t *translator) anyAncestor(c *checkNode) string {
	m := fieldMap{falco: c.field.name, expr: "ancestor_names", typ: tStrList}
	switch c.op {
	case "=", "==", "in", "intersects", "!=", "contains", "startswith", "endswith":
		return t.compare(c, m)
	}
	return t.fail("operator "+c.op+" on proc.aname", "proc.aname %s: not for any ancestor", c.op)
}
