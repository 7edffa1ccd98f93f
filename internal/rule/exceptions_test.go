package rule

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestExceptionsReferToLists: with the in comparison, a bare value names
// a list; the list is expanded like in conditions, so appending to it in
// a later file widens the exception, and number lists work for number
// fields.
func TestExceptionsReferToLists(t *testing.T) {
	rs := mustCompile(t, `
- list: config_tools
  items: [puppet, salt-minion]
- list: service_uids
  items: [33, 998]
- rule: etc_write
  description: a write below /etc
  condition: kind == "file_open" && file.path.startsWith("/etc/")
  severity: medium
  exceptions:
    - name: config_management
      fields: [process.name, file.path]
      comps: [in, startswith]
      values:
        - [config_tools, /etc/]
    - name: services
      fields: process.uid
      comps: in
      values: [service_uids]
`, `
- list: config_tools
  append: true
  items: [ansible]
`)
	ev := func(name string, uid uint32) *event.Event {
		e := fileEv(0, event.KindFileOpen, "/etc/app.conf")
		e.Process.Binary, e.Process.UID = "/usr/bin/"+name, uid
		return e
	}
	excepted := []*event.Event{ev("puppet", 0), ev("ansible", 0), ev("vi", 33)}
	alerting := ev("vi", 0)
	alerts := run(rs, Config{}, append(excepted, alerting)...)
	if len(alerts) != 1 || alerts[0].Event != alerting {
		t.Errorf("alerts %v, want one for vi as root", ruleNames(alerts))
	}
}

func TestExceptionListErrors(t *testing.T) {
	rule := func(fields, comps, values string) string {
		return `
- list: config_tools
  items: [puppet]
- list: service_uids
  items: [33]
- rule: x
  description: d
  condition: kind == "file_open"
  severity: low
  exceptions:
    - name: e
      fields: ` + fields + `
      comps: ` + comps + `
      values: ` + values + "\n"
	}
	cases := []struct{ name, file, want string }{
		{"unknown list", rule("process.name", "in", "[config_tool]"),
			`a.yaml:14:16: rule x: exceptions: exception e: comparison in takes a list of values ([a, b]) or the name of a list; no list is named "config_tool" (did you mean config_tools?)`},
		{"numbers for a string field", rule("process.name", "in", "[service_uids]"),
			"exception e: list service_uids does not hold strings, as process.name needs"},
		{"strings for a number field", rule("process.uid", "in", "[config_tools]"),
			"exception e: list config_tools does not hold numbers, as process.uid needs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := compileErrors(t, c.file); !strings.Contains(got, c.want) {
				t.Errorf("error\n%s\ndoes not contain\n%s", got, c.want)
			}
		})
	}
}

// TestBoolException: an exception on a bool field (process.is_vigil)
// compares with = or != against true or false.
func TestBoolException(t *testing.T) {
	rs := mustCompile(t, `
- rule: tmp_exec
  description: a program ran from /tmp
  condition: kind == "process_exec" && process.binary.startsWith("/tmp/")
  severity: medium
  exceptions:
    - name: vigil_itself
      fields: process.is_vigil
      values: [true]
`)
	own := execEv(0, "/tmp/vigil")
	own.Process.IsVigil = true
	copied := execEv(0, "/tmp/vigil")
	alerts := run(rs, Config{}, own, copied)
	if len(alerts) != 1 || alerts[0].Event != copied {
		t.Errorf("alerts %v, want one for the copy that is not vigil's executable", ruleNames(alerts))
	}

	bad := `
- rule: x
  description: d
  condition: kind == "process_exec"
  severity: low
  exceptions:
    - name: e
      fields: process.is_vigil
      comps: %s
      values: [%s]
`
	for _, c := range []struct{ comp, value, want string }{
		{"=", "yes", `process.is_vigil is a bool: want true or false, not "yes"`},
		{"startswith", "true", "process.is_vigil is a bool: compare it with = or !="},
	} {
		if got := compileErrors(t, fmt.Sprintf(bad, c.comp, c.value)); !strings.Contains(got, c.want) {
			t.Errorf("error\n%s\ndoes not contain\n%s", got, c.want)
		}
	}
}
