package falcoimport

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/rule"
	"github.com/vigil-sec/vigil/internal/sensor/process"
	"github.com/vigil-sec/vigil/rules"
)

var update = flag.Bool("update", false, "rewrite testdata/snippet.vigil.yaml")

func importSnippet(t *testing.T, base []rule.Source) *Result {
	t.Helper()
	data, err := os.ReadFile("testdata/snippet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import([]File{{Name: "snippet.yaml", Data: data}}, Options{Name: "snippet.vigil.yaml", Base: base, Env: process.DefaultEnv().Names})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestImportGolden translates the hand-written snippet: the output is
// reviewed in testdata/snippet.vigil.yaml, and every entry left out says
// why.
func TestImportGolden(t *testing.T) {
	res := importSnippet(t, nil)
	golden := filepath.Join("testdata", "snippet.vigil.yaml")
	if *update {
		if err := os.WriteFile(golden, res.YAML, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.YAML, want) {
		t.Errorf("translation differs from %s (go test -update to rewrite):\n%s", golden, res.YAML)
	}
	skipped := map[string]string{}
	for _, s := range res.Skipped {
		var msgs []string
		for _, r := range s.Reasons {
			msgs = append(msgs, r.Msg)
		}
		skipped[s.Name] = strings.Join(msgs, "; ")
	}
	for name, why := range map[string]string{
		"Reads via sendfile":      "evt.type sendfile: no vigil event kind",
		"Session leader":          "unknown field proc.sname: vigil has no counterpart",
		"K8s audit":               "source k8s_audit",
		"required_engine_version": "engine version",
	} {
		if !strings.Contains(skipped[name], why) {
			t.Errorf("%s: left out for %q, want %q", name, skipped[name], why)
		}
	}
	sum := res.Summarize()
	if sum.Translated["rule"] != 21 || sum.Defined["rule"] != 24 || sum.Translated["macro"] != 10 || sum.Translated["list"] != 5 {
		t.Errorf("summary %+v", sum)
	}
}

// TestImportFixtures runs testdata/snippet_test.yaml over the translated
// rules: they fire and stay quiet as Falco's would.
func TestImportFixtures(t *testing.T) {
	results, err := rule.RunFixtures([]string{"testdata/snippet_test.yaml"}, rule.FixtureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 10 {
		t.Fatalf("%d fixture results, want the file's tests", len(results))
	}
	for _, r := range results {
		if !r.Passed() {
			t.Errorf("%s:%d: %s:\n%s", r.File, r.Line, r.Name, strings.Join(r.Failures, "\n"))
		}
	}
}

// TestImportBesideDefaultPack: names the default pack uses get a falco_
// prefix, and the result validates after the pack.
func TestImportBesideDefaultPack(t *testing.T) {
	pack, err := rules.Sources()
	if err != nil {
		t.Fatal(err)
	}
	src := "- macro: in_container\n  condition: container.id != host\n- rule: write_below_etc\n  desc: d\n  condition: in_container and fd.name startswith /etc\n  output: x\n  priority: ERROR\n"
	res, err := Import([]File{{Name: "f.yaml", Data: []byte(src)}}, Options{Name: "out.yaml", Base: pack})
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.YAML)
	for _, want := range []string{"macro: falco_in_container", "rule: falco_write_below_etc", "condition: falco_in_container && file.path.startsWith"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := rule.Compile(append(pack, rule.Source{Name: "out.yaml", Data: res.YAML})); err != nil {
		t.Errorf("does not validate after the pack: %v", err)
	}
}

// TestAppendOverride follows Falco's append and override semantics.
func TestAppendOverride(t *testing.T) {
	src := `
- list: l
  items: [a]
- list: l
  append: true
  items: [b]
- list: l2
  items: [x]
- list: l2
  items: [y]
- macro: m
  condition: proc.name in (l)
- macro: m
  override:
    condition: append
  condition: or proc.name = c
- rule: r
  desc: d
  condition: m
  output: o
  priority: INFO
  tags: [T1059]
- rule: r
  override:
    priority: replace
    tags: append
  priority: CRITICAL
  tags: [extra]
- rule: r
  enabled: false
`
	res, err := Import([]File{{Name: "f.yaml", Data: []byte(src)}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.YAML)
	for _, want := range []string{"items: [a, b]", "items: [y]", `condition: (process.comm in l || process.comm == "c")`,
		"severity: critical", "tags: [T1059, extra]", "enabled: false"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestDocsMappingTable: docs/falco.md lists every mapped field.
func TestDocsMappingTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/falco.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	for _, f := range fieldTable() {
		if !documented[f.falco] {
			t.Errorf("docs/falco.md: no row for %s", f.falco)
		}
	}
	for _, k := range kindSyscalls {
		if !strings.Contains(string(doc), "`"+k.kind+"`") {
			t.Errorf("docs/falco.md: kind %s is not in the system call table", k.kind)
		}
	}
}
