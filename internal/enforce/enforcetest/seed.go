package enforcetest

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/wire"
)

// The decoders are fuzzed from records the kernel tests captured: run them
// with -capture (as root, CI=true go test -run . -capture) after a change
// of a record's layout, and review the new testdata/fuzz files.
var capture = flag.Bool("capture", false, "write the records the kernel tests see into testdata/fuzz as fuzz seeds")

// captured counts each test's seeds per fuzz target, to name them.
var captured struct {
	sync.Mutex
	n map[string]int
}

// Seed stores raw, a record the kernel wrote, as a seed of the fuzz target
// when the test runs with -capture: testdata/fuzz/TARGET/TEST-N, the
// test's Nth seed of the target, so that a capture replaces the last one's.
func Seed(tb testing.TB, target string, raw []byte) {
	if !*capture {
		return
	}
	tb.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	captured.Lock()
	if captured.n == nil {
		captured.n = make(map[string]int)
	}
	key := target + "/" + tb.Name()
	captured.n[key]++
	n := captured.n[key]
	captured.Unlock()
	name := filepath.Join(dir, fmt.Sprintf("%s-%d", strings.ReplaceAll(tb.Name(), "/", "_"), n))
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", raw)
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// Seeds are the captured seeds of the fuzz target, by file; there must be
// some.
func Seeds(tb testing.TB, target string) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no captured seeds in testdata/fuzz/%s (%v)", target, err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		quoted, ok := strings.CutPrefix(lines[len(lines)-1], "[]byte(")
		raw, uerr := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
		if !ok || uerr != nil {
			tb.Fatalf("%s: not a []byte seed: %v", f, uerr)
		}
		out[f] = []byte(raw)
	}
	return out
}

// FuzzDecoder fuzzes decode from the target's captured seeds (there must
// be some) and those added with f.Add: no input panics, every error wraps
// wire.ErrMalformed, and check approves whatever decodes.
func FuzzDecoder[T any](f *testing.F, decode func(raw []byte) (T, error), check func(t *testing.T, v T, raw []byte)) {
	f.Helper()
	Seeds(f, f.Name())
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := decode(raw)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error %v does not wrap wire.ErrMalformed", err)
			}
			return
		}
		check(t, v, raw)
	})
}

// WantMalformed checks that decode refuses each of the records, by name,
// with wire.ErrMalformed.
func WantMalformed(t *testing.T, decode func(raw []byte) error, bad map[string][]byte) {
	t.Helper()
	for name, raw := range bad {
		if err := decode(raw); !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%s: %v, want wire.ErrMalformed", name, err)
		}
	}
}

// Raw is a copy of the bytes of r, a record as the kernel lays it out (a
// type bpf2go generated from the C struct).
func Raw[T any](r *T) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(r)), unsafe.Sizeof(*r))...)
}
