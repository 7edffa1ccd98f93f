package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestOutputFlagsKeepConfiguredOutputs: a config file with a file output
// and --events all on the command line: the file output stays, stdout
// is added, and both get the events of a real process.
func TestOutputFlagsKeepConfiguredOutputs(t *testing.T) {
	testenv.RequirePrivileged(t)
	bin := buildVigil(t)
	dir := t.TempDir()
	archive := filepath.Join(dir, "archive.json")
	cfg := filepath.Join(dir, "vigil.yaml")
	writeFile(t, cfg, fmt.Sprintf("outputs:\n  - name: archive\n    file:\n      path: %s\napi:\n  socket: \"\"\n", archive))
	cg := testenv.NewCgroup(t)

	var stdout syncBuffer
	cmd := exec.Command(bin, runArgs(t, "--config", cfg, "--events", "all", "--format", "json", "--cgroup", cg.Rel())...)
	cmd.Stdout = &stdout
	agent := startChild(t, cmd, "agent")

	marker := exitInCgroup(t, cg, "outputs", 4)
	// the marker's exit is an event, not an alert: only --events all
	// brings it to stdout, and only the kept file output to the file
	hasExit := func(s string) bool {
		for _, line := range strings.Split(s, "\n") {
			if strings.Contains(line, marker) && strings.Contains(line, `"kind":"`+string(event.KindProcessExit)+`"`) {
				return true
			}
		}
		return false
	}
	agent.waitFor(t, "the marker's exit on stdout and in the file", func() bool {
		raw, _ := os.ReadFile(archive)
		return hasExit(stdout.String()) && hasExit(string(raw))
	})
	agent.stop(t, syscall.SIGTERM)
	// both wrote the marker's exit at least: a count of 0 is a summary
	// that lies
	for _, want := range []*regexp.Regexp{regexp.MustCompile(` archive wrote [1-9]`), regexp.MustCompile(` stdout wrote [1-9]`)} {
		if !want.MatchString(agent.stderr.String()) {
			t.Errorf("the summary does not say %q:\n%s", want, agent.stderr.String())
		}
	}
}
