package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
	"github.com/vigil-sec/vigil/internal/verify"
)

const verifyFixtures = "../../internal/verify/testdata/"

// TestVerifyExitStatus runs the built binary as a CI job would: 0 when
// every program passes, 1 when one fails or grows past the baseline, 2
// for usage and file errors, with JSON and JUnit that parse.
func TestVerifyExitStatus(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir := t.TempDir()

	out, stderr, code := vigilCmd(t, bin, "verify", verifyFixtures+"kinds.bpf.o")
	if code != 0 || !strings.Contains(out, "PASS") || strings.Contains(out, "FAIL") {
		t.Errorf("kinds: exit %d, want 0\n%s%s", code, out, stderr)
	}

	out, _, code = vigilCmd(t, bin, "verify", "--format", "json", verifyFixtures+"mixed.bpf.o")
	var rep verify.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--format json: %v\n%s", err, out)
	}
	if code != 1 || rep.Summary.Failed != 1 {
		t.Errorf("mixed: exit %d, summary %+v: want 1 and one failure", code, rep.Summary)
	}

	out, _, code = vigilCmd(t, bin, "verify", "--format", "junit", verifyFixtures+"mixed.bpf.o", verifyFixtures+"kinds.bpf.o")
	var suites struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out), &suites); err != nil || len(suites.Suites) != 2 || code != 1 {
		t.Errorf("--format junit: exit %d, %d suites, %v\n%s", code, len(suites.Suites), err, out)
	}

	// the baseline gate: record the small build, then "change" the object
	obj := filepath.Join(dir, "spin.o")
	base := filepath.Join(dir, "baseline.json")
	// spin.o links to one build, then the other: a change to the object
	point := func(fixture string) {
		abs, err := filepath.Abs(verifyFixtures + fixture)
		if err == nil {
			_ = os.Remove(obj)
			err = os.Symlink(abs, obj)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	point("grow_small.bpf.o")
	if _, stderr, code := vigilCmd(t, bin, "verify", "--baseline", base, "--write-baseline", obj); code != 0 {
		t.Fatalf("--write-baseline: exit %d: %s", code, stderr)
	}
	if _, stderr, code := vigilCmd(t, bin, "verify", "--baseline", base, "--max-growth", "5", obj); code != 0 {
		t.Errorf("unchanged object against its baseline: exit %d: %s", code, stderr)
	}
	point("grow_big.bpf.o")
	out, stderr, code = vigilCmd(t, bin, "verify", "--baseline", base, "--max-growth", "5", obj)
	if code != 1 || !strings.Contains(out, "grew: processed") {
		t.Errorf("grown object: exit %d, want 1 with the growth\n%s%s", code, out, stderr)
	}

	notBPF := filepath.Join(dir, "notes.o")
	if err := os.WriteFile(notBPF, []byte("\x1b]0;owned\anot an ELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"verify"},
		{"verify", "--format", "yaml", verifyFixtures + "kinds.bpf.o"},
		{"verify", "--write-baseline", verifyFixtures + "kinds.bpf.o"},
		{"verify", "--jobs", "-1", verifyFixtures + "kinds.bpf.o"},
		{"verify", filepath.Join(dir, "missing.o")},
		{"verify", notBPF},
		{"verify", "--baseline", notBPF, verifyFixtures + "kinds.bpf.o"},
	} {
		out, stderr, code := vigilCmd(t, bin, args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s%s", args, code, out, stderr)
		}
		if strings.Contains(out+stderr, "\x1b") {
			t.Errorf("%q: an escape sequence reached the terminal: %q", args, out+stderr)
		}
	}
}
