package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/output"
)

const hostileText = "x\x1b]0;owned\x07\x1b[2J\rALL CLEAR\b\u009b\u202e\tcol\nline"

// rawControl describes the first thing in s a terminal acts on, or "";
// line ends are allowed where the command writes them itself.
func rawControl(s string) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return "a byte that is not UTF-8"
		case r == '\n':
		case r < 0x20 || (r >= 0x7f && r <= 0x9f) || unicode.Is(unicode.Cf, r):
			return fmt.Sprintf("the raw code point %U", r)
		}
		i += size
	}
	return ""
}

func TestStatusEscapes(t *testing.T) {
	var b bytes.Buffer
	st := api.Status{Version: hostileText, Node: hostileText, MetricsAddress: hostileText,
		Sensors: []api.SensorStatus{{Name: hostileText, Mode: hostileText}},
		Drops:   api.DropsStatus{Kernel: map[string]uint64{hostileText: 1}},
		Outputs: []output.RouteStats{{Name: hostileText, Type: hostileText, LastError: "write " + hostileText + ": EIO"}}}
	if err := writeStatus(&b, st); err != nil {
		t.Fatal(err)
	}
	if bad := rawControl(b.String()); bad != "" {
		t.Errorf("vigil status prints %s:\n%s", bad, b.String())
	}
	if !strings.Contains(b.String(), `x\x1b]0;owned\a`) {
		t.Errorf("vigil status does not show the node name escaped:\n%s", b.String())
	}
}

func TestRulesListEscapes(t *testing.T) {
	dir := t.TempDir()
	// YAML's \e is ESC; a rule file may come from anyone
	yaml := "- rule: \"evil\\e[2J\\r\\a\\u202e\"\n  description: d\n  condition: kind == \"process_exec\"\n  severity: low\n"
	path := filepath.Join(dir, "x\x1b[31m.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := newRulesListCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"--no-default-rules", "--rules", path})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("rules list: %v\n%s", err, out.String())
	}
	if bad := rawControl(out.String()); bad != "" {
		t.Errorf("vigil rules list prints %s:\n%q", bad, out.String())
	}
	if !strings.Contains(out.String(), `evil\x1b[2J\r\a\u202e`) || !strings.Contains(out.String(), `x\x1b[31m.yaml`) {
		t.Errorf("vigil rules list does not show the name and file escaped:\n%s", out.String())
	}
}

// TestLogsEscape checks the agent's log handler: values, errors and
// messages with controls come out quoted and escaped.
func TestLogsEscape(t *testing.T) {
	var b bytes.Buffer
	log, err := newLogger(&b, "debug")
	if err != nil {
		t.Fatal(err)
	}
	log.Warn("open "+hostileText, "path", hostileText, "err", errors.New(hostileText), "args", []string{hostileText},
		hostileText, 1)
	line := strings.TrimSuffix(b.String(), "\n")
	if strings.Count(b.String(), "\n") != 1 {
		t.Errorf("one log record took several lines:\n%s", b.String())
	}
	if bad := rawControl(line); bad != "" {
		t.Errorf("a log line holds %s:\n%q", bad, line)
	}
}

// TestReportsEscape: the other human reports (rules validate, rules test,
// policy validate) quote names and errors from files someone else wrote.
func TestReportsEscape(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "r\x1b[31m.yaml")
	yaml := "- rule: \"evil\\e[2J\\r\\u202e\"\n  description: d\n  condition: kind == \"process_exec\" && process.nosuch\n  severity: low\n"
	if err := os.WriteFile(rules, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "p\x1b]0;t\x07.yaml")
	if err := os.WriteFile(policy, []byte("policy: \"x\\e[2J\"\nmode: nonsense\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cmd  func() *cobra.Command
		args []string
	}{
		{"rules validate", newRulesValidateCmd, []string{"--no-default-rules", "--rules", rules}},
		{"policy validate", newPolicyValidateCmd, []string{policy}},
	} {
		cmd := c.cmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(c.args)
		err := cmd.Execute()
		if err == nil {
			t.Errorf("%s accepted a broken file:\n%s", c.name, out.String())
		}
		if bad := rawControl(out.String()); bad != "" {
			t.Errorf("vigil %s prints %s:\n%q", c.name, bad, out.String())
		}
		if !strings.Contains(out.String(), `\x1b`) {
			t.Errorf("vigil %s does not name the file or rule, escaped:\n%q", c.name, out.String())
		}
	}
}

func TestVersionEscapes(t *testing.T) {
	old := version
	version = hostileText
	t.Cleanup(func() { version = old })
	cmd := newVersionCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{}) // nil would read the test binary's own os.Args
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if bad := rawControl(strings.TrimSuffix(out.String(), "\n")); bad != "" {
		t.Errorf("vigil version prints %s:\n%q", bad, out.String())
	}
}

func TestPolicyListWithoutAgentEscapes(t *testing.T) {
	dir := t.TempDir()
	cmd := newPolicyListCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"--socket", filepath.Join(dir, "no-agent.sock"), "--pin-dir", filepath.Join(dir, "pin\x1b]0;owned\x07\u202e")})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if bad := rawControl(out.String()); bad != "" {
		t.Errorf("vigil policy list prints %s:\n%q", bad, out.String())
	}
	if !strings.Contains(out.String(), `\x1b`) {
		t.Errorf("vigil policy list does not name the pin directory, escaped:\n%q", out.String())
	}
}
