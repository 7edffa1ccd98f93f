package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesImportFalco runs the built binary on hand-written Falco rules:
// the exit status says entries were left out, the report says which and
// why, and the rule file it writes validates after the default pack.
func TestRulesImportFalco(t *testing.T) {
	bin := buildVigil(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "falco.yaml")
	src := filepath.Join("..", "..", "internal", "falcoimport", "testdata", "snippet.yaml")
	_, report, code := vigilCmd(t, bin, "rules", "import-falco", "-o", out, src)
	for _, want := range []string{
		src + `:69: rule "Reads via sendfile" left out: never true in vigil: evt.type sendfile: no vigil event kind`,
		src + `:75: rule "Session leader" left out: unknown field proc.sname`,
		"translated and validated: rules 21 of 24, macros 10 of 10, lists 5 of 5",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if code != exitSkipped {
		t.Errorf("exit %d, want %d (entries left out)", code, exitSkipped)
	}
	stdout, _, code := vigilCmd(t, bin, "rules", "validate", out)
	if code != 0 || !strings.Contains(stdout, "ok:") {
		t.Errorf("the translation does not validate: exit %d:\n%s", code, stdout)
	}

	// everything translates: exit 0, the rule file on standard output
	whole := filepath.Join(dir, "whole.yaml")
	writeFile(t, whole, "- rule: Shell\n  desc: a shell\n  condition: evt.type = execve and proc.name = bash\n  output: shell %proc.cmdline\n  priority: WARNING\n  tags: [T1059]\n")
	stdout, _, code = vigilCmd(t, bin, "rules", "import-falco", whole)
	if code != 0 || !strings.Contains(stdout, `condition: kind == "process_exec" && process.comm == "bash"`) {
		t.Errorf("exit %d, output:\n%s", code, stdout)
	}

	// proc.env reads the variables the agent's configuration watches
	envRule := filepath.Join(dir, "env.yaml")
	writeFile(t, envRule, "- rule: Token\n  desc: d\n  condition: evt.type = execve and proc.env[VH17F_TOKEN] != \"\"\n  output: o\n  priority: INFO\n")
	_, report, code = vigilCmd(t, bin, "rules", "import-falco", "-v", "-o", filepath.Join(dir, "env-out.yaml"), envRule)
	if code != 0 || !strings.Contains(report, "VH17F_TOKEN is not a watched variable: add it to sensors.process.env") {
		t.Errorf("without --config: exit %d, report:\n%s", code, report)
	}
	cfg := filepath.Join(dir, "vigil.yaml")
	writeFile(t, cfg, "sensors:\n  process:\n    env:\n      add: [VH17F_TOKEN]\n")
	_, report, code = vigilCmd(t, bin, "rules", "import-falco", "-v", "--config", cfg, "-o", filepath.Join(dir, "env-out.yaml"), envRule)
	if code != 0 || strings.Contains(report, "not a watched variable") || !strings.Contains(report, "proc.env[VH17F_TOKEN]: process.env") {
		t.Errorf("with --config watching VH17F_TOKEN: exit %d, report:\n%s", code, report)
	}

	// validate on the Falco file itself says what to change
	stdout, _, code = vigilCmd(t, bin, "rules", "validate", "--no-default-rules", whole)
	if code != 1 || !strings.Contains(stdout, whole+":2:3: rule Shell: desc: ") || !strings.Contains(stdout, "Falco's priority is vigil's severity") {
		t.Errorf("validate of a Falco file: exit %d:\n%s", code, stdout)
	}
}
