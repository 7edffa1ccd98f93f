package rule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFixtureNamesChecked: a test that expects nothing passes whatever
// its events are, so a kind or rule name that does not exist must be an
// error with its place, not a passing test.
func TestFixtureNamesChecked(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("r.yaml", `
- rule: shell
  description: a shell
  condition: kind == "process_exec" && process.binary == "/bin/sh"
  severity: high
`)
	write("t.yaml", `rules: [r.yaml]
default_rules: false
tests:
  - name: kind typo
    rule: shel
    events:
      - {kind: proces_exec, process: {binary: /bin/sh}}
    expect: []
  - name: expected rule typo
    events:
      - {kind: process_exec, process: {binary: /bin/sh}}
    expect:
      - rule: shell
      - rule: shelll
  - name: JSON lines
    events: |
      {"kind": "process_exec", "process": {"binary": "/bin/ls"}}

      {"kind": "file_opn", "process": {"binary": "/bin/ls"}}
      {"process": {"binary": "/bin/ls"}}
    expect: []
`)
	path := filepath.Join(dir, "t.yaml")
	res, err := RunFixtures([]string{path}, FixtureOptions{})
	if err == nil {
		t.Fatalf("fixture with typos ran: %+v", res)
	}
	for _, want := range []string{
		path + `:5:11: test "kind typo": rule: no loaded rule is named "shel" (did you mean shell?)`,
		path + `:7:16: test "kind typo": events[0].kind: unknown event kind "proces_exec" (did you mean process_exec?)`,
		path + `:14:15: test "expected rule typo": expect[1].rule: no loaded rule is named "shelll" (did you mean shell?)`,
		path + `:19:8: test "JSON lines": events[1].kind: unknown event kind "file_opn" (did you mean file_open?)`,
		path + `:20:7: test "JSON lines": events[2].kind: missing: every event has a kind`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks\n  %s\ngot:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 5 {
		t.Errorf("%d errors, want 5:\n%v", n, err)
	}
}
