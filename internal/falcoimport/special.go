package falcoimport

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
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
	// receives are seen only when what they return starts with code (a
	// Java class, an ELF binary): see receiveOnly
	{"net_payload", []string{"read", "readv", "recvfrom", "recvmsg"}, false},
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
		if c.field.transform == "" && (c.op == "=" || c.op == "==" || c.op == "!=" || c.op == "in") {
			return t.userName(c), true
		}
	case "proc.env":
		return t.procEnv(c), true
	case "evt.arg":
		if c.field.hasArg && c.field.arg == "0" {
			return t.sockDomain(c), true
		}
	case "evt.arg.domain":
		return t.sockDomain(c), true
	case "thread.cap_effective", "thread.cap_permitted", "thread.cap_inheritable":
		return t.threadCaps(c), true
	case "evt.buffer":
		return t.payload(c), true
	case "evt.arg.uid":
		if c.field.transform == "" {
			return t.argUID(c), true
		}
	case "proc.tty":
		return t.procTTY(c), true
	case "evt.is_open_read", "evt.is_open_write", "evt.is_open_create", "evt.is_open_exec":
		return t.openMode(c), true
	case "evt.arg.mode":
		if c.op == "contains" && len(c.values) == 1 {
			return t.modeBit(c), true
		}
	case "proc.duration":
		return t.procDuration(c), true
	case "fd.net", "fd.snet", "fd.cnet", "fd.rnet", "fd.lnet":
		return t.network(c), true
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
// can never match a vigil event: a test of it alone is false (an
// alternative of an or folds away, a rule that is false leaves out), beside
// others it is left out; a note says so either way.
func (t *translator) evtType(c *checkNode) string {
	vals, negated, ok := t.eqTest(c)
	if !ok {
		return failed
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
	if len(unknown) > 0 {
		why := "evt.type " + strings.Join(unknown, ", ") + ": no vigil event kind"
		t.kindless = append(t.kindless, why)
		if len(covered) > 0 {
			t.notes = append(t.notes, why+", left out")
		} else {
			t.notes = append(t.notes, why+": that test is false in vigil")
		}
	}
	var wholes, parts []string
	for _, k := range kindSyscalls {
		sys, ok := covered[k.kind]
		if !ok {
			continue
		}
		if k.kind == "net_payload" {
			t.note("evt.type " + strings.Join(sys, ", ") + ": net_payload, a receive whose bytes start with " +
				"a Java class or an ELF binary (vigil reports no other receive)")
		}
		if k.whole || len(sys) >= len(k.syscalls) {
			wholes = append(wholes, quote(k.kind))
			continue
		}
		sort.Strings(sys)
		parts = append(parts, "(kind == "+quote(k.kind)+" && syscall.name in ["+strings.Join(quoteAll(sys), ", ")+"])")
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

// receiveOnly says whether n tests evt.type for receive calls only
// (net_payload's). Such a test beside a check that does not translate
// folds to false, as a call with no kind would: net_payload events carry
// the socket and the bytes' magic, not what Falco tests of other receives
// (fd.connected, …).
func (t *translator) receiveOnly(n node) bool {
	c, ok := n.(*checkNode)
	if !ok || c.field.name != "evt.type" || c.op == "!=" {
		return false
	}
	var receives []string
	for _, k := range kindSyscalls {
		if k.kind == "net_payload" {
			receives = k.syscalls
		}
	}
	n2 := 0
	for _, v := range c.values {
		vals := []string{v.text}
		if l, isList := t.lists[v.text]; isList && !v.quoted {
			vals = l.flat
		}
		for _, s := range vals {
			if !slices.Contains(receives, s) {
				return false
			}
			n2++
		}
	}
	return n2 > 0
}

// evtDir: vigil reports each system call once, at its exit, with the
// arguments it was called with: both directions read as that event.
func (t *translator) evtDir(c *checkNode) string {
	vals, _, ok := t.eqTest(c)
	if !ok || len(vals) != 1 || (vals[0] != "<" && vals[0] != ">") {
		return t.fail("evt.dir", "evt.dir: want = < or = >")
	}
	if vals[0] == ">" {
		t.notes = append(t.notes, "evt.dir=> reads as vigil's one event per call (at its exit, with the call's arguments)")
	}
	return "true"
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
		return failed
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
		// created with an execute bit
		"evt.is_open_exec": `("O_CREAT" in file.flags && file.mode.anyBits(0x49))`,
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

// modeBits are the chmod mode flags Falco renders evt.arg.mode with.
var modeBits = map[string]int{
	"S_ISUID": 0o4000, "S_ISGID": 0o2000, "S_ISVTX": 0o1000,
	"S_IRUSR": 0o400, "S_IWUSR": 0o200, "S_IXUSR": 0o100,
	"S_IRGRP": 0o40, "S_IWGRP": 0o20, "S_IXGRP": 0o10,
	"S_IROTH": 0o4, "S_IWOTH": 0o2, "S_IXOTH": 0o1,
}

// modeBit: evt.arg.mode contains S_IXUSR is a bit of file.mode.
func (t *translator) modeBit(c *checkNode) string {
	bit, ok := modeBits[c.values[0].text]
	if !ok {
		return t.fail("evt.arg.mode "+c.values[0].text, "evt.arg.mode contains %s: not a mode bit", c.values[0].text)
	}
	return fmt.Sprintf("file.mode.hasBits(%d)", bit)
}

// procDuration: how long the process has lived, in ns, at the event.
func (t *translator) procDuration(c *checkNode) string {
	if len(c.values) != 1 || c.list {
		return t.fail("operator "+c.op+" on proc.duration", "proc.duration %s: compare with one number", c.op)
	}
	n, err := strconv.ParseInt(c.values[0].text, 0, 64)
	op := map[string]string{"=": "==", "==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[c.op]
	if err != nil || op == "" {
		return t.fail("proc.duration", "proc.duration %s %s: compare with a number of ns", c.op, c.values[0].text)
	}
	return fmt.Sprintf(`(time - process.start_time) %s duration("%dns")`, op, n)
}

// network: Falco's fd.*net fields test an address against CIDR prefixes.
func (t *translator) network(c *checkNode) string {
	addr := map[string]string{"fd.net": "network.daddr", "fd.rnet": "network.daddr", "fd.lnet": "network.saddr",
		"fd.snet": serverAddr, "fd.cnet": clientAddr}[c.field.name]
	vals, negated, ok := t.eqTest(c)
	if !ok {
		return failed
	}
	var parts []string
	for _, v := range c.values {
		if l, isList := t.lists[v.text]; isList && !v.quoted {
			if name, ok := l.usable(tString); ok {
				parts = append(parts, addr+".inCIDR("+name+")")
			}
			continue
		}
		parts = append(parts, addr+".inCIDR("+quote(v.text)+")")
	}
	if len(vals) == 0 {
		parts = nil
	}
	x := or(parts...)
	if negated {
		return not(x)
	}
	return x
}
