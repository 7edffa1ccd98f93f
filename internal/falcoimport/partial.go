package falcoimport

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Fields vigil has in part: the environment (the watched variables only),
// the socket domain (of the sockets vigil reports) and user names (the
// process's, and the one a setuid asks for). Each translation says what it
// leaves out in a note.

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
	x := isOneOf("network.family", quoteAll(fams))
	if x == "" {
		x = "false"
	}
	if negated {
		return not(x)
	}
	return x
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
	if x := isOneOf("process.user", others); x != "" {
		parts = append(parts, x)
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

// argUID translates evt.arg.uid =, != and in: the uid a setuid asks for. A
// name is privilege.user, that uid named from the caller's own
// /etc/passwd (a container's, for a containerised process); a number is
// the call's first argument.
func (t *translator) argUID(c *checkNode) string {
	vals, negated, ok := t.eqTest(c)
	if !ok {
		return failed
	}
	var names, nums []string
	for _, v := range vals {
		if _, err := strconv.ParseUint(v, 10, 32); err == nil {
			nums = append(nums, v)
			continue
		}
		names = append(names, quote(v))
	}
	var parts []string
	if x := isOneOf("privilege.user", names); x != "" {
		parts = append(parts, x)
	}
	if len(nums) > 0 {
		parts = append(parts, "(size(syscall.args) > 0 && syscall.args[0] in ["+strings.Join(nums, ", ")+"])")
	}
	if len(names) > 0 {
		t.note("evt.arg.uid: privilege.user, the name of the uid a setuid asks for in the caller's own /etc/passwd")
	}
	x := or(parts...)
	if negated && len(parts) == 1 && strings.HasPrefix(x, "privilege.user == ") {
		return strings.Replace(x, " == ", " != ", 1)
	}
	if negated {
		return not(x)
	}
	return x
}
