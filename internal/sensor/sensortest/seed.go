package sensortest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The decoders are fuzzed from records the kernel tests captured: run them
// with -capture (as root, CI=true go test -run . -capture) after a change
// of a record's layout, and review the new testdata/fuzz files.
var capture = flag.Bool("capture", false, "write the records the kernel tests see into testdata/fuzz as fuzz seeds")

// Capturing says whether the test runs with -capture.
func Capturing() bool { return *capture }

// Seed stores data, from a record the kernel wrote, as the seed
// testdata/fuzz/TARGET/NAME when the test runs with -capture.
func Seed(tb testing.TB, target, name string, data []byte) {
	tb.Helper()
	if !*capture {
		return
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// SeedName names a seed after the test and what: letters, digits, _ and
// = are kept, anything else becomes '-'.
func SeedName(tb testing.TB, what string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '=' {
			return r
		}
		return '-'
	}, tb.Name()+"-"+what)
}
