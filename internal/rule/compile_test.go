package rule

import (
	"strings"
	"testing"
)

// TestErrorsNamePlaceAndProblem: every error says file:line:column, the
// entry, the field and what is wrong, and suggests the nearest valid name.
func TestErrorsNamePlaceAndProblem(t *testing.T) {
	cases := []struct {
		name, file string
		want       []string // substrings of the error text
	}{
		{"yaml syntax", "- rule: x\n  condition: [unclosed\n", []string{"a.yaml:2:15: invalid YAML: did not find expected"}},
		{"not a list", "rule: x\n", []string{"a.yaml:1:1: a rule file is a list of entries"}},
		{"no entry key", "- name: x\n", []string{"a.yaml:1:3: an entry has exactly one of the keys rule, list, macro or track"}},
		{"unknown key", "- rule: x\n  description: d\n  condtion: kind == \"process_exec\"\n  severity: low\n",
			[]string{"a.yaml:3:3: rule x: condtion: unknown key for a rule entry (did you mean condition?)"}},
		{"missing condition", "- rule: x\n  description: d\n  severity: low\n",
			[]string{"a.yaml:1:9: rule x: condition: missing"}},
		{"bad severity", "- rule: x\n  description: d\n  condition: kind == \"process_exec\"\n  severity: hihg\n",
			[]string{`a.yaml:4:13: rule x: severity: unknown severity "hihg" (did you mean high?)`}},
		{"bad action", "- rule: x\n  description: d\n  condition: kind == \"process_exec\"\n  severity: low\n  action: kil\n",
			[]string{`a.yaml:5:11: rule x: action: unknown action "kil" (did you mean kill?)`}},
		{"deny without kinds", "- rule: x\n  description: d\n  condition: process.name == \"nc\"\n  severity: low\n  action: deny\n",
			[]string{"a.yaml:3:14: rule x: action: deny happens in the kernel before the call returns, and the kernel cannot decide this rule: the condition must name exactly one event kind"}},
		{"deny of an exec", "- rule: x\n  description: d\n  condition: kind == \"process_exec\" && process.binary == \"/usr/bin/nc\"\n  severity: low\n  action: deny\n",
			[]string{"rule x: action: deny happens in the kernel before the call returns, and the kernel cannot decide this rule: the kernel denies connections (net_connect); it kills at exec, open and module load; use action: kill"}},
		{"deny of a port range", "- rule: x\n  description: d\n  condition: kind == \"net_connect\" && network.dport > 1024\n  severity: low\n  action: deny\n",
			[]string{"the kernel cannot decide this rule: only network.daddr (inCIDR, ==, in), network.dport (==, in) and network.protocol (==) are decided at connect in the kernel; a test of network.dport is not"}},
		{"unknown field", "- rule: x\n  description: d\n  condition: kind == \"process_exec\" && process.binay == \"/bin/sh\"\n  severity: low\n",
			[]string{"a.yaml:3:48: rule x: condition: unknown field process.binay (did you mean process.binary?)"}},
		{"unknown nested field", "- rule: x\n  description: d\n  condition: container.pod.lables[\"a\"] == \"b\"\n  severity: low\n",
			[]string{"unknown field container.pod.lables (did you mean container.pod.labels?)"}},
		{"unknown name", "- rule: x\n  description: d\n  condition: proces.name == \"sh\"\n  severity: low\n",
			[]string{"a.yaml:3:14: rule x: condition: unknown name proces (did you mean process?)"}},
		{"unknown list", "- list: shells\n  items: [sh]\n- rule: x\n  description: d\n  condition: process.name in shels\n  severity: low\n",
			[]string{"rule x: condition: unknown name shels (did you mean shells?)"}},
		{"unknown kind", "- rule: x\n  description: d\n  condition: kind == \"proces_exec\"\n  severity: low\n",
			[]string{`a.yaml:3:22: rule x: condition: unknown event kind "proces_exec" (did you mean process_exec?)`}},
		{"type error", "- rule: x\n  description: d\n  condition: kind == \"net_connect\" && network.dport == \"80\"\n  severity: low\n",
			[]string{"a.yaml:3:53: rule x: condition: found no matching overload for '_==_' applied to '(int, string)'"}},
		{"not boolean", "- rule: x\n  description: d\n  condition: process.name\n  severity: low\n",
			[]string{"rule x: condition: is string, want bool"}},
		{"never matches", "- rule: x\n  description: d\n  condition: kind == \"process_exec\" && kind == \"file_open\"\n  severity: low\n",
			[]string{"rule x: condition: can never match"}},
		{"too expensive", "- rule: x\n  description: d\n  condition: process.args.exists(a, process.args.exists(b, a + b == \"x\"))\n  severity: low\n",
			[]string{"rule x: condition: too expensive"}},
		{"duplicate", "- rule: x\n  description: d\n  condition: kind == \"process_exec\"\n  severity: low\n- rule: x\n  description: d\n  condition: kind == \"process_exec\"\n  severity: low\n",
			[]string{"a.yaml:5:9: rule x: duplicate name: first defined at a.yaml:1:9"}},
		{"append to nothing", "- rule: y\n  append: true\n  condition: \"&& true\"\n",
			[]string{"a.yaml:2:11: rule y: append: no earlier rule \"y\" to append"}},
		{"macro cycle", "- macro: a\n  condition: b\n- macro: b\n  condition: a\n",
			[]string{"macro a: condition: macros refer to each other in a cycle: a → b → a"}},
		{"mixed list", "- list: l\n  items: [a, 1]\n", []string{"a.yaml:2:14: list l: items: mixes strings and numbers"}},
		{"unknown track", "- rule: x\n  description: d\n  condition: kind == \"process_exec\" && tracked(\"nope\", process.exec_id)\n  severity: low\n",
			[]string{`rule x: condition: no track named "nope"`}},
		{"template field", "- rule: x\n  description: d\n  condition: kind == \"process_exec\"\n  severity: low\n  message: \"ran {process.binry}\"\n",
			[]string{"a.yaml:5:26: rule x: message: unknown field process.binry (did you mean process.binary?)"}},
		{"template brace", "- rule: x\n  description: d\n  condition: kind == \"process_exec\"\n  severity: low\n  message: \"ran {process.binary\"\n",
			[]string{"rule x: message: { is not closed"}},
		{"exception field", "- rule: x\n  description: d\n  condition: kind == \"process_exec\"\n  severity: low\n  exceptions:\n    - name: e\n      fields: [process.nme]\n      values: [[a]]\n",
			[]string{"rule x: exceptions: exception e: unknown field process.nme (did you mean process.name?)"}},
		{"exception width", "- rule: x\n  description: d\n  condition: kind == \"process_exec\"\n  severity: low\n  exceptions:\n    - name: e\n      fields: [process.name, process.uid]\n      values: [[a]]\n",
			[]string{"exception e: a row has 1 values for 2 fields"}},
		{"exception number", "- rule: x\n  description: d\n  condition: kind == \"process_exec\"\n  severity: low\n  exceptions:\n    - name: e\n      fields: [process.uid]\n      values: [[root]]\n",
			[]string{`exception e: process.uid is a number; "root" is not`}},
		{"reserved variable name", "- list: process\n  items: [a]\n", []string{"list process: process is an event field"}},
		{"reserved CEL word", "- rule: x\n  description: d\n  condition: kind == \"namespace_change\" && \"net\" in namespace.types\n  severity: low\n",
			[]string{"reserved identifier: namespace (CEL reserves the word: a namespace_change's object is ns, as in ns.types)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := compileErrors(t, c.file)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", got, w)
				}
			}
		})
	}
}

// TestErrorsInFoldedAndAppendedConditions: positions are right for block
// scalars and for text another file appended.
func TestErrorsInFoldedAndAppendedConditions(t *testing.T) {
	got := compileErrors(t, "- rule: x\n  description: d\n  condition: >\n    kind == \"process_exec\" &&\n      process.nme == \"sh\"\n  severity: low\n")
	if !strings.Contains(got, "a.yaml:5:15: rule x: condition: unknown field process.nme") {
		t.Errorf("folded: %s", got)
	}
	got = compileErrors(t,
		"- rule: x\n  description: d\n  condition: kind == \"process_exec\"\n  severity: low\n",
		"- rule: x\n  append: true\n  condition: '&& process.nme != \"sh\"'\n")
	if !strings.Contains(got, "b.yaml:3:26: rule x: condition: unknown field process.nme") {
		t.Errorf("appended: %s", got)
	}
}

// TestAllErrorsReported: one run reports the problems of every entry.
func TestAllErrorsReported(t *testing.T) {
	got := compileErrors(t, "- rule: a\n  description: d\n  condition: proces.name == \"x\"\n  severity: low\n"+
		"- rule: b\n  description: d\n  condition: kind == \"process_exec\"\n  severity: nope\n"+
		"- list: l\n  items: {a: b}\n")
	if n := strings.Count(got, "\n") + 1; n != 3 {
		t.Errorf("want 3 errors, got %d:\n%s", n, got)
	}
}

func TestKindsDerivedFromCondition(t *testing.T) {
	rs := mustCompile(t, `
- macro: is_exec
  condition: kind == "process_exec"
- rule: one
  description: d
  condition: is_exec && process.name == "sh"
  severity: low
- rule: several
  description: d
  condition: kind in ["file_open", "file_unlink"] && file.path == "/x"
  severity: low
- rule: either
  description: d
  condition: (kind == "net_connect" && network.dport == 1) || (kind == "dns_query" && dns.query == "x")
  severity: low
- rule: anything
  description: d
  condition: process.name == "sh"
  severity: low
- rule: kind_substring
  description: d
  condition: kind.contains("file_") && file.path == "/x"
  severity: low
`)
	want := map[string]string{"one": "[process_exec]", "several": "[file_open file_unlink]",
		"either": "[dns_query net_connect]", "anything": "[]", "kind_substring": "[]"}
	for _, r := range rs.Rules() {
		if got := stringsOf(r.Kinds); got != want[r.Name] {
			t.Errorf("rule %s: kinds %v, want %s", r.Name, r.Kinds, want[r.Name])
		}
	}
	if len(rs.Warnings) != 2 || !strings.Contains(rs.Warnings[0].Error(), "rule anything: condition: no event kind can be derived") {
		t.Errorf("want one warning about rule anything, got %v", rs.Warnings)
	}
}

func stringsOf[T ~string](xs []T) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = string(x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func TestIndexedOn(t *testing.T) {
	rs := mustCompile(t, `
- rule: name
  description: d
  condition: kind == "process_exec" && process.name in ["sh", "bash"] && process.uid != 0
  severity: low
- rule: prefix_or_suffix
  description: d
  condition: kind == "file_open" && (file.path.startsWith("/etc/") || file.new_path.endsWith(".so"))
  severity: low
- rule: port
  description: d
  condition: kind == "net_connect" && network.dport in [3333, 4444]
  severity: low
- rule: nothing
  description: d
  condition: kind == "process_exec" && process.uid != 0
  severity: low
`)
	want := map[string]string{"name": "process.name", "prefix_or_suffix": "file.path, file.new_path",
		"port": "network.dport", "nothing": ""}
	for _, r := range rs.Rules() {
		if r.Indexed() != want[r.Name] {
			t.Errorf("rule %s indexed on %q, want %q", r.Name, r.Indexed(), want[r.Name])
		}
	}
}

// TestEmptyFileWarns: a rule file that defines nothing loads, with a
// warning naming it, rather than in silence.
func TestEmptyFileWarns(t *testing.T) {
	for _, data := range []string{"", "# only a comment\n", "---\n"} {
		rs, err := Compile([]Source{{Name: "empty.yaml", Data: []byte(data)}})
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		if len(rs.Warnings) != 1 || !strings.Contains(rs.Warnings[0].Error(), "empty.yaml:1:1: the file defines nothing") {
			t.Errorf("%q: warnings %v, want one naming the file", data, rs.Warnings)
		}
	}
}
