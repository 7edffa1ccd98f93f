package falcoimport

import (
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/internal/capability"
)

// Capability sets and received bytes: Falco reads them at every event of
// a thread; vigil has the sets an exec left (process.caps) and the code a
// receive starts with (net_payload).

// provenCaps are the capabilities a system call checks before anything
// else, so that any outcome but EPERM proves the thread had them even
// where process.caps does not say so (a process known only from its fork,
// or one that raised the capability after its exec).
var provenCaps = map[string][]string{
	// may_init_module and delete_module: capable(CAP_SYS_MODULE) first
	"CAP_SYS_MODULE": {"module_load", "module_unload"},
}

// threadCaps translates thread.cap_effective, cap_permitted and
// cap_inheritable contains (icontains) X. Falco's field is the set's names
// joined by spaces, so the test is true when one of the names holds X: a
// membership test of the names that do, in the set of process.caps.
func (t *translator) threadCaps(c *checkNode) string {
	name := c.field.name
	if (c.op != "contains" && c.op != "icontains") || len(c.values) != 1 || c.values[0].field != nil ||
		c.field.transform != "" || c.field.hasArg {
		return t.fail("operator "+c.op+" on "+name, "%s %s: only contains and icontains of a capability name", name, c.op)
	}
	pat, fold := c.values[0].text, c.op == "icontains"
	if strings.ContainsAny(pat, " \t") {
		return t.fail(name+" across names", "%s %s %q: a pattern across two names (with a space) does not translate", name, c.op, pat)
	}
	var hits []string
	for _, n := range capability.Names() {
		if fold && strings.Contains(strings.ToLower(n), strings.ToLower(pat)) || !fold && strings.Contains(n, pat) {
			hits = append(hits, n)
		}
	}
	set := "process.caps." + strings.TrimPrefix(name, "thread.cap_")
	q := quoteAll(hits)
	var x string
	switch len(hits) {
	case 0:
		t.note(fmt.Sprintf("%s %s %s: no capability is named like it: false", name, c.op, pat))
		return "false"
	case 1:
		x = q[0] + " in " + set
	default:
		x = set + ".hasAny([" + strings.Join(q, ", ") + "])"
	}
	t.note(fmt.Sprintf("%s: %s, the set as the process's exec left it (Falco: the thread's at the event)", name, set))
	if kinds, ok := provenCaps[hits[0]]; ok && len(hits) == 1 && name != "thread.cap_inheritable" {
		t.note(fmt.Sprintf("%s: also true on %s events that got past the capability check (any outcome but EPERM)",
			hits[0], strings.Join(kinds, " and ")))
		x = "(" + x + " || (kind in [" + strings.Join(quoteAll(kinds), ", ") + `] && syscall.error != "EPERM"))`
	}
	return x
}

// payloadMagics are the received bytes vigil recognises, by the hex
// Falco's bcontains takes: net_payload's network.payload.
var payloadMagics = map[string]string{"cafebabe": "java_class", "7f454c46": "elf"}

// payload translates evt.buffer bcontains (bstartswith) a Java class's or
// an ELF's magic: a net_payload event, which is what a receive that starts
// with those bytes makes.
func (t *translator) payload(c *checkNode) string {
	if (c.op != "bcontains" && c.op != "bstartswith") || len(c.values) != 1 || c.values[0].field != nil {
		return t.fail("operator "+c.op+" on evt.buffer", "evt.buffer %s: only bcontains and bstartswith of a magic vigil recognises", c.op)
	}
	hex := strings.ToLower(c.values[0].text)
	kind, ok := payloadMagics[hex]
	if !ok {
		return t.fail("evt.buffer "+hex, "evt.buffer %s %s: vigil recognises received bytes that start with cafebabe (Java class) or 7f454c46 (ELF) only",
			c.op, c.values[0].text)
	}
	if c.op == "bcontains" {
		t.note("evt.buffer bcontains " + hex + ": net_payload, which sees the bytes at the start of what one receive returned only")
	}
	return `(kind == "net_payload" && network.payload == ` + quote(kind) + ")"
}
