package falcoimport

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Fields vigil has in part: the environment (the watched variables only),
// the socket domain (of the sockets vigil reports), the effective
// capabilities a system call's outcome proves, and user names. Each
// translation says what it leaves out in a note.

// envName is what a variable name looks like.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// procEnv translates proc.env and proc.env[NAME]. Falco's proc.env is the
// whole environment, NAME=value pairs joined by spaces, on every event of
// the process; vigil's process.env holds the watched variables
// (sensors.process.env) of process_exec events.
func (t *translator) procEnv(c *checkNode) string {
	if c.field.transform != "" {
		return t.fail("transformer "+c.field.transform, "%s: vigil has no counterpart", c.field)
	}
	if c.field.hasArg {
		name := c.field.arg
		m := fieldMap{falco: c.field.String(), typ: tString,
			expr: fmt.Sprintf(`(%s in process.env ? process.env[%s] : "")`, quote(name), quote(name))}
		if slices.Contains(t.env, name) {
			t.notes = append(t.notes, fmt.Sprintf("proc.env[%s]: process.env, set on process_exec events only", name))
		} else {
			t.notes = append(t.notes, fmt.Sprintf("proc.env[%s]: %s is not a watched variable: "+
				"add it to sensors.process.env, or it reads as \"\"", name, name))
		}
		return t.compare(c, m)
	}
	if (c.op != "contains" && c.op != "icontains") || len(c.values) != 1 || c.values[0].field != nil {
		return t.fail("operator "+c.op+" on proc.env",
			"proc.env %s: only contains and icontains with one value (vigil has the watched variables, not the whole environment)", c.op)
	}
	pat, fold := c.values[0].text, c.op == "icontains"
	pair := `(k + "=" + process.env[k] + " ")` // as Falco writes each pair: followed by a space
	if fold {
		pair += ".lowerAscii()"
		pat = strings.ToLower(pat)
	}
	t.notes = append(t.notes, "proc.env "+c.op+" "+c.values[0].text+": "+t.envCovers(c.values[0].text, fold))
	return "process.env.exists(k, " + pair + ".contains(" + quote(pat) + "))"
}

// envCovers says which watched variables a proc.env pattern can match.
func (t *translator) envCovers(pat string, fold bool) string {
	name, _, hasValue := strings.Cut(pat, "=")
	if !envName.MatchString(name) {
		return "tested on each watched variable (sensors.process.env) of process_exec events"
	}
	var hits []string
	for _, n := range t.env {
		a, b := n, name
		if fold {
			a, b = strings.ToLower(a), strings.ToLower(b)
		}
		if hasValue && strings.HasSuffix(a, b) || !hasValue && strings.Contains(a, b) {
			hits = append(hits, n)
		}
	}
	if len(hits) == 0 {
		return fmt.Sprintf("no watched variable is named like %s: add it to sensors.process.env, "+
			"or only the values of the watched ones can match", name)
	}
	return "matches the watched " + strings.Join(hits, ", ") + " (sensors.process.env) on process_exec events"
}

// socketFamilies are the socket domains vigil's network events name.
var socketFamilies = map[string]string{
	"AF_UNIX": "unix", "AF_LOCAL": "unix", "AF_INET": "inet", "AF_INET6": "inet6", "AF_PACKET": "packet",
}

// sockDomain translates socket's first argument, its domain (Falco writes
// it AF_INET, AF_PACKET, …), to network.family.
func (t *translator) sockDomain(c *checkNode) string {
	var fams []string
	add := func(f string) {
		if !slices.Contains(fams, f) {
			fams = append(fams, f)
		}
	}
	negated := c.op == "!="
	switch c.op {
	case "=", "==", "!=", "in", "contains":
	default:
		return t.fail("operator "+c.op+" on "+c.field.String(), "%s %s: only =, !=, in and contains", c.field, c.op)
	}
	for _, v := range c.values {
		if v.field != nil || !strings.HasPrefix(v.text, "AF_") {
			return t.fail(c.field.String()+" other than a socket domain", "%s: only a socket's domain (AF_…) translates", c.field)
		}
		if c.op == "contains" {
			for af, fam := range socketFamilies {
				if strings.Contains(af, v.text) {
					add(fam)
				}
			}
			continue
		}
		fam, ok := socketFamilies[v.text]
		if !ok {
			return t.fail(c.field.String()+" "+v.text, "%s %s: vigil reports inet, inet6, unix and packet sockets only", c.field, v.text)
		}
		add(fam)
	}
	slices.Sort(fams)
	t.notes = append(t.notes, c.field.String()+" reads as the socket's domain, network.family (net_socket: raw and packet sockets only)")
	q := make([]string, len(fams))
	for i, f := range fams {
		q[i] = quote(f)
	}
	var x string
	switch len(q) {
	case 0:
		x = "false"
	case 1:
		x = "network.family == " + q[0]
	default:
		x = "network.family in [" + strings.Join(q, ", ") + "]"
	}
	if negated {
		return not(x)
	}
	return x
}

// provenCaps are the capabilities a system call checks before anything
// else, so that any outcome but EPERM proves the thread had them: vigil's
// events carry no capability sets, but these calls' outcomes tell.
var provenCaps = map[string][]string{
	// may_init_module and delete_module: capable(CAP_SYS_MODULE) first
	"CAP_SYS_MODULE": {"module_load", "module_unload"},
}

// threadCaps translates thread.cap_effective (and cap_permitted, which
// holds it) contains CAP_X where the event's outcome proves the capability.
func (t *translator) threadCaps(c *checkNode) string {
	if (c.op != "contains" && c.op != "icontains") || len(c.values) != 1 || c.values[0].field != nil {
		return t.fail("unknown field "+c.field.name, "%s %s: vigil's events carry no capability sets", c.field.name, c.op)
	}
	want := strings.ToUpper(c.values[0].text)
	if !strings.HasPrefix(want, "CAP_") {
		want = "CAP_" + want
	}
	kinds, ok := provenCaps[want]
	if !ok {
		return t.fail("unknown field "+c.field.name, "%s contains %s: vigil's events carry no capability sets "+
			"(only CAP_SYS_MODULE, which module_load's outcome proves)", c.field.name, c.values[0].text)
	}
	q := make([]string, len(kinds))
	for i, k := range kinds {
		q[i] = quote(k)
	}
	t.notes = append(t.notes, fmt.Sprintf("%s contains %s: known only on %s events, where the call got past its capability check "+
		"(any outcome but EPERM); false on other events", c.field.name, want, strings.Join(kinds, " and ")))
	return "(kind in [" + strings.Join(q, ", ") + `] && syscall.error != "EPERM")`
}

// userName translates user.name =, != and in: process.user, the name of
// process.uid in the process's own /etc/passwd (a container's, for a
// containerised process). root is uid 0 whatever the passwd file says, so
// = root tests the uid, which needs no file. Other operators go through
// the field table.
func (t *translator) userName(c *checkNode) string {
	vals, negated, ok := t.eqTest(c)
	if !ok {
		return failed
	}
	var others []string
	root := false
	for _, v := range vals {
		switch v {
		case "root":
			root = true
			continue
		case "N/A", "<NA>": // Falco's unknown user
			v = ""
		}
		others = append(others, quote(v))
	}
	var parts []string
	if root {
		parts = append(parts, "process.uid == 0")
	}
	switch len(others) {
	case 0:
	case 1:
		parts = append(parts, "process.user == "+others[0])
	default:
		parts = append(parts, "process.user in ["+strings.Join(others, ", ")+"]")
	}
	x := or(parts...)
	if negated && len(parts) == 1 && !strings.HasPrefix(x, "process.user in") {
		return strings.Replace(x, " == ", " != ", 1)
	}
	if negated {
		return not(x)
	}
	return x
}
