package rule

import (
	"errors"
	"strings"
	"testing"
)

// TestFalcoHints: a Falco-format file gets errors that say what vigil
// calls things, at the place of each.
func TestFalcoHints(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"keys", "- rule: r\n  desc: d\n  condition: kind == \"process_exec\"\n  priority: WARNING\n  output: x\n",
			[]string{"f.yaml:2:3: rule r: desc: ", "Falco's desc is vigil's description",
				"f.yaml:4:3: rule r: priority: ", "Falco's priority is vigil's severity",
				"f.yaml:5:3: rule r: output: ", "Falco's output is vigil's message"}},
		{"condition", "- rule: r\n  description: d\n  condition: evt.type = execve and proc.name = bash\n  severity: low\n",
			[]string{"f.yaml:3:", "vigil conditions are CEL", "evt.type → kind", "proc. → process."}},
		{"engine version", "- required_engine_version: 17\n",
			[]string{"f.yaml:1:3: ", "required_engine_version is a Falco entry"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile([]Source{{Name: "f.yaml", Data: []byte(c.src)}})
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want rule errors, got %v", err)
			}
			got := errs.Error()
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("errors lack %q:\n%s", w, got)
				}
			}
		})
	}
	// a CEL condition with an ordinary error gets no Falco hint
	_, err := Compile([]Source{{Name: "f.yaml", Data: []byte("- rule: r\n  description: d\n  condition: process.nme == \"x\"\n  severity: low\n")}})
	if err == nil || strings.Contains(err.Error(), "Falco") {
		t.Errorf("want an error without a Falco hint, got %v", err)
	}
}
