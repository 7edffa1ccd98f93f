package config

import (
	"os"
	"path/filepath"
	"testing"
)

// A ConfigMap volume reads as its keys: hidden entries (..data, the
// timestamped directory) are left out, links followed, order lexical.
func TestReadPolicyPathsConfigMapLayout(t *testing.T) {
	dir := t.TempDir()
	ts := filepath.Join(dir, "..2026_12_07_08_00_00.1")
	if err := os.Mkdir(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, data := range map[string]string{"b.yaml": "b", "a.yml": "a", "notes.txt": "x"} {
		if err := os.WriteFile(filepath.Join(ts, n), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data")))
	for _, n := range []string{"b.yaml", "a.yml", "notes.txt"} {
		must(t, os.Symlink(filepath.Join("..data", n), filepath.Join(dir, n)))
	}
	files, err := ReadPolicyPaths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Name != filepath.Join(dir, "a.yml") || string(files[1].Data) != "b" {
		t.Fatalf("read %+v", files)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
