// Package internal_test holds the import rules of docs/architecture.md to
// the code: data flows one way, so these arrows must not exist.
package internal_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/vigil-sec/vigil/"

// goList runs go list in the module with a template; each line is one
// package's output.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestEnforcementImportsNoSensor: enforcement mechanisms build on
// internal/wire and internal/ring, never on a sensor, directly or not.
func TestEnforcementImportsNoSensor(t *testing.T) {
	lines := goList(t, "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./enforce/...")
	if len(lines) < 5 {
		t.Fatalf("go list found %d enforcement packages: the pattern no longer fits", len(lines))
	}
	for _, line := range lines {
		pkg, deps, _ := strings.Cut(line, " ")
		for _, dep := range strings.Fields(deps) {
			if dep == module+"internal/sensor" || strings.HasPrefix(dep, module+"internal/sensor/") {
				t.Errorf("%s imports %s: move what it needs out of the sensor", pkg, dep)
			}
		}
	}
}

// TestLoaderIsNeutral: sensors and enforcement mechanisms both load through
// internal/bpfload, so it builds on cilium/ebpf and internal/ring only.
func TestLoaderIsNeutral(t *testing.T) {
	for _, imp := range strings.Fields(goList(t, "-f", `{{join .Imports " "}}`, "./bpfload")[0]) {
		if strings.HasPrefix(imp, module) && imp != module+"internal/ring" {
			t.Errorf("internal/bpfload imports %s: it may build on internal/ring only", imp)
		}
		if !strings.HasPrefix(imp, module) && strings.Contains(imp, ".") && !strings.HasPrefix(imp, "github.com/cilium/ebpf") {
			t.Errorf("internal/bpfload imports %s: it may build on cilium/ebpf only", imp)
		}
	}
}

// TestEventImportsOnlyTheStandardLibrary: every stage speaks event, so it
// must not pull anything in.
func TestEventImportsOnlyTheStandardLibrary(t *testing.T) {
	for _, pkg := range goList(t, "-deps", "-f", `{{if not .Standard}}{{.ImportPath}}{{end}}`, "./event") {
		if pkg != "" && pkg != module+"internal/event" {
			t.Errorf("internal/event depends on %s", pkg)
		}
	}
}

// TestRecordKindGeneratedOnce: only internal/wire runs bpf2go with
// -type record_kind; everything else uses its constants.
func TestRecordKindGeneratedOnce(t *testing.T) {
	found := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_bpfel.go") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(raw, []byte("RecordKindKIND_")) {
			found++
			if filepath.Dir(path) != "wire" {
				t.Errorf("%s has its own enum record_kind: drop -type record_kind from its gen.go and use internal/wire's", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found != 1 {
		t.Errorf("enum record_kind is generated %d times, want once (internal/wire)", found)
	}
}
