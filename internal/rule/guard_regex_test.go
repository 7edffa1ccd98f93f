package rule

import (
	"slices"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestAnchoredPrefix(t *testing.T) {
	for pat, want := range map[string]string{
		`^/proc/[0-9]+/(task/[0-9]+/)?mem$`: "/proc/",
		`^/root/[^/.][^/]*$`:                "/root/",
		`\A/etc/x`:                          "/etc/x",
		`^/dev/mem$`:                        "/dev/mem",
		`/proc/[0-9]+`:                      "", // not anchored: a match may start anywhere
		`(?m)^/proc/`:                       "", // ^ after any newline too
		`(?i)^/PROC/`:                       "", // case folded
		`^[/]proc`:                          "/proc",
		`^\x{fffd}x`:                        "", // U+FFFD also stands for a byte that is not UTF-8
		`^(/a|/b)`:                          "", // a group ends the prefix
		`^.*/x`:                             "",
		`^`:                                 "",
		`^(`:                                "", // does not parse
		`^/é/`:                              "/é/",
		`^a|^b`:                             "",
	} {
		if got := anchoredPrefix(pat); got != want {
			t.Errorf("anchoredPrefix(%q) = %q, want %q", pat, got, want)
		}
	}
}

// TestRegexGuardIndexesAndMatches: a condition anchored with matches is
// indexed on its literal prefix, and matches exactly what it did
// unindexed, whichever alternative of a disjunction holds.
func TestRegexGuardIndexesAndMatches(t *testing.T) {
	const rules = `
- rule: proc_mem
  description: d
  condition: kind == "file_open" && (file.path.matches("^/proc/[0-9]+/mem$") || file.path == "/dev/mem")
  severity: low
- rule: root_home
  description: d
  condition: kind == "file_open" && (file.path.matches("^/root/[^/.][^/]*$") || file.new_path.matches("^/root/[^/.][^/]*$"))
  severity: low
- rule: unanchored
  description: d
  condition: kind == "file_open" && file.path.matches("/proc/[0-9]+/mem$")
  severity: low
`
	rs := mustCompile(t, rules)
	want := map[string]string{"proc_mem": "file.path", "root_home": "file.path, file.new_path", "unanchored": ""}
	for _, r := range rs.Rules() {
		if r.Indexed() != want[r.Name] {
			t.Errorf("rule %s indexed on %q, want %q", r.Name, r.Indexed(), want[r.Name])
		}
	}
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/proc/12/mem", []string{"proc_mem", "unanchored"}},
		{"/dev/mem", []string{"proc_mem"}},
		{"/x/proc/12/mem", []string{"unanchored"}},
		{"/proc/self/mem", nil},
		{"/root/notes", []string{"root_home"}},
		{"/root/.bashrc", nil},
		{"/tmp/x", nil},
	} {
		ev := fileEv(0, event.KindFileOpen, c.path)
		got := ruleNames(run(rs, Config{Throttle: Throttle{Disabled: true}}, ev))
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: alerts %v, want %v", c.path, got, c.want)
		}
	}
}
