package network

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var captureFlag = flag.Bool("capture", false, "write the records the tests wait for to testdata/fuzz as fuzz seeds")

// capture saves a real record as a seed of FuzzDecodeNetwork and, for DNS
// records, its message as a seed of FuzzParseQuery.
func capture(t *testing.T, what string, raw []byte) {
	t.Helper()
	if !*captureFlag {
		return
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '=' {
			return r
		}
		return '-'
	}, t.Name()+"-"+what)
	writeSeed(t, "FuzzDecodeNetwork", name, raw)
	if strings.HasPrefix(what, "dns_query") && len(raw) > netInfoSize {
		writeSeed(t, "FuzzParseQuery", name, raw[netInfoSize:])
	}
}

func writeSeed(t *testing.T, fuzzer, name string, data []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", fuzzer)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
}
