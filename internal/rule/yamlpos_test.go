package rule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestYAMLSyntaxErrorPositions: a syntax error is reported at the line
// and column of the problem, not at the line the YAML library names (the
// enclosing structure's, or the one before) and column 1.
func TestYAMLSyntaxErrorPositions(t *testing.T) {
	cases := []struct{ name, file, want string }{
		{"mapping value in a plain scalar", "- rule: x\n  description: a: b\n",
			"a.yaml:2:17: invalid YAML: mapping values are not allowed in this context"},
		{"unclosed flow sequence", "- rule: x\n  condition: [unclosed\n  severity: low\n",
			"a.yaml:2:15: invalid YAML: did not find expected ',' or ']'"},
		{"unclosed flow mapping", "- rule: x\n  description: {a: b\n  severity: low\n",
			"a.yaml:2:17: invalid YAML: did not find expected ',' or '}'"},
		{"bad indentation", "- rule: x\n  description: d\n condition: c\n",
			"a.yaml:3:2: invalid YAML: did not find expected '-' indicator"},
		{"unterminated quote", "- rule: x\n  description: \"unterminated\n  severity: low\n",
			"a.yaml:2:16: invalid YAML: found unexpected end of stream"},
		{"tab", "- rule: x\n\tdescription: tab\n",
			"a.yaml:2:1: invalid YAML: found a tab character that violates indentation"},
		{"sequence in a mapping", "- rule: x\n  description: d\n  - y\n",
			"a.yaml:3:3: invalid YAML: did not find expected key"},
		{"bad character", "- rule: x\n  description: d\n@bad\n",
			"a.yaml:3:1: invalid YAML: found character that cannot start any token"},
		{"unknown anchor", "- rule: x\n  description: d\n  message: *nope\n",
			"a.yaml:3:12: invalid YAML: unknown anchor 'nope' referenced"},
		{"second document", "- rule: x\n  description: d\n---\n- [a\n",
			"a.yaml:4:4: invalid YAML: did not find expected ',' or ']'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := compileErrors(t, c.file); got != c.want {
				t.Errorf("error\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestFixtureSyntaxErrorPosition: a rule test file's syntax error is
// placed the same way: here where the missing ] belongs.
func TestFixtureSyntaxErrorPosition(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.yaml")
	if err := os.WriteFile(path, []byte("tests:\n  - name: x\n    events: [{kind: process_exec}\n    expect: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := RunFixtures([]string{path}, FixtureOptions{NoDefaults: true})
	if want := path + ":3:33: invalid YAML: did not find expected ',' or ']'"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %s", err, want)
	}
}
